// node-resque, driven like the Python drivers (see bench/drivers/common.py for the roles
// and the files a worker writes). Worker: one process with a MultiWorker of
// --concurrency task processors (minTaskProcessors = maxTaskProcessors) and a Scheduler,
// every other option at its default (worker and scheduler poll every 5 s when idle).
// node-resque has no batch enqueue: the bulk workload runs --batch enqueue calls at once.
"use strict";
const fs = require("fs");
const path = require("path");
const { Queue, MultiWorker, Scheduler } = require("node-resque");

function parse(argv) {
  const args = { role: argv[0], n: 1000, batch: 1000, concurrency: 10, ahead: 2, budget: 15, dir: "." };
  for (let i = 1; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    args[key] = ["url", "dir"].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  return args;
}

const args = parse(process.argv.slice(2));
const url = new URL(args.url);
const connection = {
  pkg: "ioredis",
  host: url.hostname,
  port: Number(url.port || 6379),
  database: Number((url.pathname || "/0").slice(1) || 0),
  namespace: "resque",
};

const now = () => (performance.timeOrigin + performance.now()) / 1000;
const probe = (at) => `t=${at}`;
const emit = (result) => process.stdout.write(JSON.stringify(result) + "\n");
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

let count = 0;
let first = 0;
let last = 0;
let samplesFd = null;

function job(value) {
  if (typeof value === "string" && value.startsWith("t=")) {
    fs.writeSync(samplesFd, `${now()} ${value.slice(2)}\n`);
    return;
  }
  const t = now();
  if (!count) first = t;
  count += 1;
  last = t;
}

const jobs = { noop: { perform: async (value) => job(value) } };

function writeCounts() {
  const file = path.join(args.dir, `count-${process.pid}.json`);
  fs.writeFileSync(file + ".tmp", JSON.stringify({ count, first, last }));
  fs.renameSync(file + ".tmp", file);
  fs.appendFileSync(path.join(args.dir, `series-${process.pid}`), `${last} ${count}\n`);
}

function sampleCount() {
  let lines = 0;
  for (const name of fs.readdirSync(args.dir)) {
    if (name.startsWith("samples-")) {
      const text = fs.readFileSync(path.join(args.dir, name), "utf8");
      lines += text.split("\n").length - 1;
    }
  }
  return lines;
}

async function client() {
  const queue = new Queue({ connection }, jobs);
  await queue.connect();
  if (args.role === "enqueue-one") {
    const start = now();
    for (let i = 0; i < args.n; i++) await queue.enqueue("default", "noop", [i]);
    emit({ seconds: now() - start });
  } else if (args.role === "enqueue-bulk" || args.role === "fill") {
    const start = now();
    for (let s = 0; s < args.n; s += args.batch) {
      const calls = [];
      for (let i = s; i < Math.min(s + args.batch, args.n); i++) {
        calls.push(queue.enqueue("default", "noop", [i]));
      }
      await Promise.all(calls);
    }
    emit({ seconds: now() - start });
  } else if (args.role === "latency") {
    const budget = now() + args.budget;
    let sent = 0;
    while (sent < args.n && now() < budget) {
      await queue.enqueue("default", "noop", [probe(now())]);
      sent += 1;
      const deadline = now() + 10;
      while (sampleCount() < sent && now() < deadline) pause(2);
      if (sampleCount() < sent) break;
      pause(5 + Math.random() * 10);
    }
    emit({ sent });
  } else if (args.role === "delayed") {
    const due = [];
    for (let i = 0; i < args.n; i++) {
      const at = now() + args.ahead;
      await queue.enqueueIn(args.ahead * 1000, "default", "noop", [probe(at)]);
      due.push(at);
    }
    emit({ due });
  }
  await queue.end();
}

async function worker() {
  samplesFd = fs.openSync(path.join(args.dir, `samples-${process.pid}`), "a");
  writeCounts();
  let seen = -1;
  setInterval(() => {
    if (count !== seen) {
      seen = count;
      writeCounts();
    }
  }, 10);
  const multiWorker = new MultiWorker(
    {
      connection,
      queues: ["default"],
      minTaskProcessors: args.concurrency,
      maxTaskProcessors: args.concurrency,
    },
    jobs,
  );
  const scheduler = new Scheduler({ connection });
  await scheduler.connect();
  fs.writeFileSync(path.join(args.dir, `ready-${process.pid}`), "");
  while (!fs.existsSync(path.join(args.dir, "go"))) await new Promise((r) => setTimeout(r, 1));
  multiWorker.start();
  scheduler.start();
  process.on("SIGTERM", async () => {
    await multiWorker.end();
    await scheduler.end();
    process.exit(0);
  });
}

(args.role === "worker" ? worker() : client()).catch((error) => {
  console.error(error);
  process.exit(1);
});
