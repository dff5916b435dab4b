// Run a node-resque Scheduler until SIGTERM (it then releases the leader lock).
//
// spec: {"connection": {...}, "timeout": 50 (ms, poll interval), "name": optional,
//        "leaderLockTimeout": 180 (s), "stuckWorkerTimeout": 3600000 (ms),
//        "retryStuckJobs": false}
// Prints "ready", then "leader" when it becomes the leader, "poll" on each leader poll
// when spec.polls is true, "transferredJob" for each delayed job it moved (timestamp and
// the job text), "cleanStuckWorker" for each worker it cleaned (name, the failed record,
// its silence in seconds), and "stopped" after a graceful end.
"use strict";

const { NodeResque, readSpec, emit, connection, onSignal, fatal } = require("./lib");

async function main() {
  const spec = await readSpec();
  const options = { connection: connection(spec), timeout: spec.timeout || 50 };
  for (const key of ["name", "leaderLockTimeout", "stuckWorkerTimeout", "retryStuckJobs"]) {
    if (spec[key] !== undefined) options[key] = spec[key];
  }
  const scheduler = new NodeResque.Scheduler(options);
  scheduler.on("leader", () => emit("leader", { name: scheduler.name }));
  if (spec.polls) scheduler.on("poll", () => emit("poll"));
  scheduler.on("transferredJob", (timestamp, job) =>
    emit("transferredJob", { timestamp, job: JSON.stringify(job) }),
  );
  scheduler.on("cleanStuckWorker", (worker, errorPayload, delta) =>
    emit("cleanStuckWorker", { worker, errorPayload: errorPayload || null, delta }),
  );
  scheduler.on("error", (error) => process.stderr.write(`scheduler error: ${error}\n`));
  onSignal(() => scheduler.end());
  await scheduler.connect();
  await scheduler.start();
  emit("ready", { name: scheduler.name });
}

main().catch(fatal);
