// Call node-resque's Queue API and print each result.
//
// spec: {"connection": {...}, "jobs": {...} (see lib.js; enqueue runs their plugins),
//        "calls": [["enqueue", "q", "task", [args]], ["failed", 0, -1], ...]}
// Prints {"event": "result", "call": name, "result": value} (or "error": message) per
// call, in order. Pseudo-calls: ["$retryFailed", i] and ["$removeFailed", i] give the
// i-th failed record, as queue.failed() parsed it, to retryAndRemoveFailed / removeFailed;
// ["$parseDate", text] is Date.parse(text) / 1000.
"use strict";

const { NodeResque, readSpec, emit, connection, jobs, fatal } = require("./lib");

async function call(queue, name, args) {
  if (name === "$retryFailed" || name === "$removeFailed") {
    const [record] = await queue.failed(args[0], args[0]);
    if (!record) throw new Error(`no failed record at ${args[0]}`);
    return name === "$retryFailed"
      ? queue.retryAndRemoveFailed(record)
      : queue.removeFailed(record);
  }
  if (name === "$parseDate") return Date.parse(args[0]) / 1000;
  if (typeof queue[name] !== "function") throw new Error(`no Queue method ${name}`);
  return queue[name](...args);
}

async function main() {
  const spec = await readSpec();
  const queue = new NodeResque.Queue({ connection: connection(spec) }, jobs(spec));
  queue.on("error", (error) => process.stderr.write(`queue error: ${error}\n`));
  await queue.connect();
  for (const [name, ...args] of spec.calls) {
    try {
      const result = await call(queue, name, args);
      emit("result", { call: name, result: result === undefined ? null : result });
    } catch (error) {
      emit("result", { call: name, error: String(error && error.message) });
    }
  }
  await queue.end();
}

main().catch(fatal);
