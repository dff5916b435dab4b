#!/usr/bin/env node
// What JavaScript (node-resque) writes for each entry of a codec corpus.
//
//   node scripts/golden_codec.js tests/unit/golden/codec_corpus.jsonl > tests/unit/golden/codec_expected.jsonl
//
// Each corpus line is a JSON array [name, kind, data]; each output line is
// JSON.stringify([name, result]). The corpus is written by tests/unit/test_codec.py
// (`python tests/unit/test_codec.py` regenerates both files). Values are tagged so that
// nothing is lost between Python and JavaScript:
//   ["s", text]          a string (the corpus file is ASCII; lone surrogates are \u escapes)
//   ["u", [cp, ...]]     a string given as code points (surrogate code points kept apart)
//   ["i", "123"]         an integer, as decimal digits (Number() of it, as JS would hold it)
//   ["f", "1e-07"]       a float, as Python's repr ("nan", "inf", "-inf" for the others)
//   ["b", true] ["n"]    a boolean, null
//   ["l", [v, ...]]      an array (["t", ...] is a Python tuple: also an array)
//   ["d", [[k, v], ...]] an object, built by assigning the pairs in order (k is a tagged
//                        scalar: JS turns it into its property name with String())
// Kinds:
//   value       JSON.stringify(v)
//   job         [task, queue, [args]]                 -> JSON.stringify({class, queue, args})
//   date        [tz, ts]                              -> new Date(ts * 1000).toString() in tz
//   parse       [tz, text]                            -> Date.parse(text) / 1000, or null
//   ping        [name, queues, ts]                    -> node-resque 9's worker ping
//   working_on  [tz, worker, queue, payload, ts]      -> node-resque 9's record (no Lua)
//   failure     [tz, worker, queue, payload, exception, error, backtrace, ts]
//                                                     -> node-resque's failed entry
"use strict";

const fs = require("fs");

function build(node) {
  const [tag, data] = node;
  switch (tag) {
    case "s":
      return data;
    case "u":
      return String.fromCodePoint(...data);
    case "i":
      return Number(data);
    case "f":
      if (data === "nan") return NaN;
      if (data === "inf") return Infinity;
      if (data === "-inf") return -Infinity;
      return Number(data);
    case "b":
      return data;
    case "n":
      return null;
    case "l":
    case "t":
      return data.map(build);
    case "d": {
      const obj = {};
      for (const [k, v] of data) obj[build(k)] = build(v);
      return obj;
    }
    default:
      throw new Error(`unknown tag ${tag}`);
  }
}

function inZone(tz, fn) {
  const saved = process.env.TZ;
  process.env.TZ = tz; // node re-reads the zone when TZ is assigned
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

const dateString = (ts) => new Date(ts * 1000).toString();

function run(kind, data) {
  switch (kind) {
    case "value":
      return JSON.stringify(build(data));
    case "job": {
      const [task, queue, args] = data;
      return JSON.stringify({ class: task, queue: queue, args: args.map(build) });
    }
    case "date":
      return inZone(data[0], () => dateString(data[1]));
    case "parse":
      return inZone(data[0], () => {
        const ms = Date.parse(data[1]);
        return Number.isNaN(ms) ? null : ms / 1000;
      });
    case "ping": {
      const [name, queues, ts] = data;
      return JSON.stringify({ time: Math.round(ts), name: name, queues: queues });
    }
    case "working_on": {
      const [tz, worker, queue, payload, ts] = data;
      return inZone(tz, () =>
        JSON.stringify({
          run_at: dateString(ts),
          queue: queue,
          worker: worker,
          payload: JSON.parse(payload),
        }),
      );
    }
    case "failure": {
      const [tz, worker, queue, payload, exception, error, backtrace, ts] = data;
      return inZone(tz, () =>
        JSON.stringify({
          worker: worker,
          queue: queue,
          payload: JSON.parse(payload),
          exception: exception,
          error: error,
          backtrace: backtrace,
          failed_at: dateString(ts),
        }),
      );
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

const file = process.argv[2];
const text = fs.readFileSync(file === undefined || file === "-" ? 0 : file, "utf8");
const out = [];
for (const line of text.split("\n")) {
  if (line.trim() === "") continue;
  const [name, kind, data] = JSON.parse(line);
  out.push(JSON.stringify([name, run(kind, data)]));
}
process.stdout.write(out.join("\n") + "\n");
