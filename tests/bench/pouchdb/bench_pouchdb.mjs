// bench_pouchdb.mjs - PouchDB's side of `make bench-compare`: the same
// salon records Kartoteka's owner syncs (kt-bench-snapshot with
// KT_BENCH_EXPORT, one JSON document a line) loaded into an in-memory
// express-pouchdb server on 127.0.0.1 port 0, then replicated over HTTP
// into a fresh in-memory PouchDB, timed like kt-bench-snapshot times its
// first sync (loading the server is not timed). Server and client run in
// this one node process, so its CPU time is both sides'.
// usage: node bench_pouchdb.mjs ROWS.ndjson [runs]
import { readFileSync } from "node:fs";
import express from "express";
import expressPouchDB from "express-pouchdb";
import PouchDB from "pouchdb-core";
import memory from "pouchdb-adapter-memory";
import http from "pouchdb-adapter-http";
import replication from "pouchdb-replication";
import mapreduce from "pouchdb-mapreduce";

const [file, runsArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench_pouchdb.mjs ROWS.ndjson [runs]");
  process.exit(2);
}
const runs = Number(runsArg || 1);
PouchDB.plugin(memory).plugin(http).plugin(replication).plugin(mapreduce);
const MemPouch = PouchDB.defaults({ adapter: "memory" });

const docs = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

const app = express();
app.use("/", expressPouchDB(MemPouch, { mode: "minimumForPouchDB", inMemoryConfig: true, logPath: "/dev/null" }));
const server = await new Promise((resolve) => {
  const s = app.listen(0, "127.0.0.1", () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;

const source = new MemPouch("salon");
for (let i = 0; i < docs.length; i += 1000) await source.bulkDocs(docs.slice(i, i + 1000));
const info = await source.info();
if (info.doc_count !== docs.length) {
  console.error(`pouchdb: the server holds ${info.doc_count} of ${docs.length} documents`);
  process.exit(1);
}

let sum = 0;
for (let r = 0; r < runs; r++) {
  const target = new MemPouch(`device-${r}`);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  // (a URL string would open a memory database of that name: MemPouch's default adapter)
  const remote = new PouchDB(`${base}/salon`, { adapter: "http" });
  const res = await target.replicate.from(remote);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(cpu0);
  const cpuMs = (c.user + c.system) / 1000;
  const n = (await target.info()).doc_count;
  if (!res.ok || n !== docs.length) {
    console.error(`pouchdb: replicated ${n} of ${docs.length} documents`);
    process.exit(1);
  }
  const rate = n / (ms / 1000);
  sum += rate;
  console.log(`pouchdb run ${r + 1}: ${n} docs in ${ms.toFixed(1)} ms = ${rate.toFixed(0)} docs/s ` +
              `(server+client CPU ${cpuMs.toFixed(1)} ms: ${((cpuMs * 1000) / n).toFixed(2)} us/doc)`);
  await target.destroy();
}
console.log(`pouchdb: mean ${(sum / runs).toFixed(0)} docs/s over ${runs} runs`);
server.close();
process.exit(0);
