// Shared by the interop scripts: the spec on stdin, JSON lines on stdout, job behaviours.
//
// Every script reads one JSON spec from standard input, with at least
//   {"connection": {"host": "127.0.0.1", "port": 6379, "namespace": "resque"}}
// and writes one JSON object per line to standard output. Diagnostics go to stderr.
"use strict";

const NodeResque = require("node-resque");

async function readSpec() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, at: Date.now() / 1000, ...fields }) + "\n");
}

function connection(spec) {
  return { pkg: "ioredis", database: 0, ...spec.connection };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The jobs a Worker knows. spec.jobs maps a class name to its behaviour:
//   {}                          record the job and succeed (the default)
//   {"fail": "message"}         throw new Error(message)
//   {"sleep": ms}               wait ms, then succeed
//   {"hang": true}              never settle (a stuck worker: the test kills the process)
//   {"plugins": [...], "pluginOptions": {...}}   node-resque plugins by name
// Each performed job is reported as {"event": "perform", "class", "args", "job": the exact
// JSON.stringify of the job node-resque read, "worker"}.
function jobs(spec) {
  const result = {};
  for (const [name, behaviour] of Object.entries(spec.jobs || {})) {
    result[name] = {
      plugins: behaviour.plugins || [],
      pluginOptions: behaviour.pluginOptions || {},
      perform: async function (...args) {
        emit("perform", {
          class: name,
          args,
          job: JSON.stringify(this.job),
          queue: this.queue,
          worker: this.name,
        });
        if (behaviour.sleep) await sleep(behaviour.sleep);
        if (behaviour.hang) await new Promise(() => {});
        if (behaviour.fail) throw new Error(behaviour.fail);
        return name;
      },
    };
  }
  return result;
}

// Call stop() once on SIGTERM/SIGINT, then exit 0.
function onSignal(stop) {
  let stopping = false;
  const handler = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await stop();
    } catch (error) {
      process.stderr.write(`error while stopping: ${error && error.stack}\n`);
    }
    emit("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

function fatal(error) {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}

module.exports = { NodeResque, readSpec, emit, connection, jobs, sleep, onSignal, fatal };
