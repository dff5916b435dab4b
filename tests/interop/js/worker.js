// Run a node-resque Worker (or MultiWorker) until it has settled `count` jobs.
//
// spec: {"connection": {...}, "jobs": {...} (see lib.js), "queues": ["q"],
//        "count": 3 (0: run until SIGTERM), "timeout": 50 (ms, poll and ping interval),
//        "name": optional worker name, "multi": false,
//        "minTaskProcessors": 1, "maxTaskProcessors": 2 (multi only)}
// Prints "ready" once the worker is registered, "perform" for each job started (lib.js),
// "success" / "failure" for each job settled, then "done" after a graceful end.
"use strict";

const { NodeResque, readSpec, emit, connection, jobs, onSignal, fatal } = require("./lib");

async function main() {
  const spec = await readSpec();
  const options = {
    connection: connection(spec),
    queues: spec.queues,
    timeout: spec.timeout || 50,
  };
  if (spec.name) options.name = spec.name;
  let worker;
  if (spec.multi) {
    worker = new NodeResque.MultiWorker(
      {
        ...options,
        checkTimeout: 20,
        maxEventLoopDelay: 50,
        minTaskProcessors: spec.minTaskProcessors || 1,
        maxTaskProcessors: spec.maxTaskProcessors || 2,
      },
      jobs(spec),
    );
  } else {
    worker = new NodeResque.Worker(options, jobs(spec));
  }
  let settled = 0;
  let ending = null;
  const end = () => {
    if (!ending) ending = worker.end().then(() => emit("done"));
    return ending;
  };
  const settle = () => {
    settled += 1;
    if (spec.count && settled >= spec.count) end().then(() => process.exit(0), fatal);
  };
  // Worker events are (queue, job, ...); MultiWorker's are (workerId, queue, job, ...).
  const shift = spec.multi ? 1 : 0;
  worker.on("success", (...a) => {
    emit("success", { queue: a[shift], job: JSON.stringify(a[shift + 1]), result: a[shift + 2] });
    settle();
  });
  worker.on("failure", (...a) => {
    emit("failure", { queue: a[shift], job: JSON.stringify(a[shift + 1]), error: String(a[shift + 2]) });
    settle();
  });
  worker.on("error", (error) => process.stderr.write(`worker error: ${error}\n`));
  onSignal(end);
  if (spec.multi) {
    worker.on("start", (id) => emit("ready", { worker: `${worker.name}:${process.pid}+${id}` }));
    worker.start();
  } else {
    await worker.connect();
    await worker.start();
    emit("ready", { worker: worker.name, queues: worker.stringQueues() });
  }
}

main().catch(fatal);
