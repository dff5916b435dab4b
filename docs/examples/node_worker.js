// node-resque 9 on the same Redis: performs "sendEmail", enqueues "reports.build" for Python.
const { Queue, Worker } = require("node-resque");

const connection = {
  host: process.env.REDIS_HOST || "127.0.0.1",
  port: Number(process.env.REDIS_PORT || 6379),
  namespace: "resque",
};

const jobs = {
  sendEmail: {
    perform: async (params) => {
      console.log(`sending to ${params.to}`);
      return params.to;
    },
  },
};

async function main() {
  const queue = new Queue({ connection }, jobs);
  await queue.connect();
  // the Python task "reports.build" receives {month: "2030-01"} as its params
  await queue.enqueue("reports", "reports.build", [{ month: "2030-01" }]);

  const worker = new Worker({ connection, queues: ["node"], timeout: 100 }, jobs);
  await worker.connect();
  worker.on("success", async () => {
    await worker.end();
    await queue.end();
  });
  worker.start();
}

main();
