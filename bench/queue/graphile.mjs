// Reference queue benchmark: graphile-worker 0.17.3 in its default UNBATCHED mode.
//
//   node graphile.mjs --jobs 50000 --concurrency 1,4,16 --database-url postgres://...
//
// For each concurrency C: drop schema graphile_worker, recreate it with graphile's own
// runMigrations, bulk-insert N no-op jobs with one add_jobs() call, run a runner with
// `concurrency: C` until the jobs table is empty, then print one JSON line on stdout:
//   {"system":"graphile-worker 0.17.3","concurrency":C,"jobs":N,"seconds":S,
//    "jobs_per_sec":R,"claim_p50_ms":X,"claim_p99_ms":Y,"duplicates":D}
// Everything else goes to stderr. Exits 1 if any run executed a job twice or missed one.
//
// Run via run-graphile.sh, which installs graphile-worker into bench/out/graphile-node
// and sets GW_NODE_DIR. (ES modules ignore NODE_PATH, so we resolve with createRequire.)
import { createRequire } from "node:module";
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.GW_NODE_DIR ?? path.join(here, "../out/graphile-node");
const require = createRequire(path.join(path.resolve(nodeDir), "package.json"));
const { run, runMigrations, Logger } = require("graphile-worker");
const pg = require("pg");
const VERSION = require("graphile-worker/package.json").version;
if (VERSION !== "0.17.3") throw new Error(`expected graphile-worker 0.17.3 in ${nodeDir}, found ${VERSION}`);

const log = (...a) => console.error("[graphile-bench]", ...a);

function parseArgs(argv) {
  const o = { jobs: 50000, concurrency: [1, 4, 16], url: process.env.DATABASE_URL };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === "--jobs") (o.jobs = parseInt(v, 10)), i++;
    else if (argv[i] === "--concurrency") (o.concurrency = v.split(",").map(Number)), i++;
    else if (argv[i] === "--database-url") (o.url = v), i++;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.url) throw new Error("--database-url (or DATABASE_URL) is required");
  if (!(o.jobs > 0) || o.concurrency.some((c) => !(c > 0))) throw new Error("bad --jobs/--concurrency");
  return o;
}

// Graphile's logger, silenced: only warnings and errors reach stderr.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile-worker ${level}] ${message}`);
});

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0;
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function benchOnce(url, N, C) {
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  try {
    // 1. Fresh schema, created by graphile-worker's own migrations.
    await admin.query("drop schema if exists graphile_worker cascade");
    await runMigrations({ connectionString: url, logger });

    // 2. N no-op jobs in one statement via add_jobs(job_spec[]). job_spec in 0.17.3 is
    //    (identifier, payload, queue_name, run_at, max_attempts, job_key, priority, flags);
    //    NULLs take add_jobs' defaults ({} payload, no queue, now(), 25 attempts, priority 0).
    const ins = await admin.query(
      `select count(*)::int as n from graphile_worker.add_jobs(array(
         select row('noop', null, null, null, null, null, null, null)::graphile_worker.job_spec
         from generate_series(1, $1::int)))`,
      [N],
    );
    if (ins.rows[0].n !== N) throw new Error(`inserted ${ins.rows[0].n} jobs, expected ${N}`);
    await admin.query("analyze graphile_worker._private_jobs"); // stable plans from the first get_job

    // 3. Claim latency, per worker slot (graphile "worker" = one concurrency slot):
    //    from the moment the slot is free -- its previous task function returned, or, for
    //    its first job, the slot was created ("worker:create") -- to the moment the next
    //    task function starts in that slot. This covers graphile's own loop: dispatching
    //    completeJob for the previous job (NOT awaited in 0.17.3, so the DELETE overlaps),
    //    pool checkout, the get_job UPDATE ... FOR UPDATE SKIP LOCKED round trip, and
    //    building the job helpers. Runner bootstrap is in `seconds`, not in claim latency.
    const events = new EventEmitter();
    const freeAt = new Map(); // workerId -> ms timestamp the slot became free
    const slotOf = new WeakMap(); // job object -> workerId (set on "job:start", just before the task)
    const runCount = new Map(); // job id -> executions
    const claims = [];
    let executed = 0;
    let failures = 0;
    let allExecuted;
    const allExecutedP = new Promise((r) => (allExecuted = r));
    events.on("worker:create", ({ worker }) => freeAt.set(worker.workerId, performance.now()));
    events.on("job:start", ({ worker, job }) => slotOf.set(job, worker.workerId));
    events.on("job:error", ({ error }) => (failures++, log("job error:", error?.message)));

    const noop = async (_payload, helpers) => {
      const started = performance.now();
      const w = slotOf.get(helpers.job);
      claims.push(started - freeAt.get(w));
      const id = String(helpers.job.id);
      runCount.set(id, (runCount.get(id) ?? 0) + 1);
      if (++executed === N) allExecuted();
      freeAt.set(w, performance.now()); // slot is free once we return
    };

    // 4. Run until all N executed and the jobs table is empty (completions are async).
    const t0 = performance.now();
    const runner = await run({
      connectionString: url,
      concurrency: C,
      maxPoolSize: Math.max(10, C), // graphile warns when the pool is smaller than concurrency
      pollInterval: 100,
      noHandleSignals: true,
      logger,
      events,
      taskList: { noop },
      // Unbatched defaults left alone: no localQueue (size -1), completeJobBatchDelay -1,
      // failJobBatchDelay -1 => one get_job per job, one DELETE per completed job.
    });
    const deadline = setTimeout(() => log(`still running after 10 min (executed ${executed}/${N})`), 600_000);
    await allExecutedP;
    for (;;) {
      const { rows } = await admin.query("select count(*)::int as n from graphile_worker._private_jobs");
      if (rows[0].n === 0) break;
      await sleep(2);
    }
    const seconds = (performance.now() - t0) / 1000;
    clearTimeout(deadline);
    await runner.stop();
    await runner.promise;

    // 5. Integrity: every job exactly once.
    let duplicates = 0;
    for (const n of runCount.values()) duplicates += n - 1;
    if (runCount.size !== N || duplicates !== 0 || failures !== 0)
      log(`INTEGRITY FAILURE at C=${C}: distinct=${runCount.size}/${N} duplicates=${duplicates} failures=${failures}`);
    claims.sort((a, b) => a - b);
    return {
      ok: runCount.size === N && duplicates === 0 && failures === 0,
      line: {
        system: `graphile-worker ${VERSION}`,
        concurrency: C,
        jobs: N,
        seconds: round(seconds),
        jobs_per_sec: round(N / seconds, 1),
        claim_p50_ms: round(percentile(claims, 50)),
        claim_p99_ms: round(percentile(claims, 99)),
        duplicates,
      },
    };
  } finally {
    await admin.end();
  }
}

const opts = parseArgs(process.argv.slice(2));
let ok = true;
for (const C of opts.concurrency) {
  log(`concurrency=${C} jobs=${opts.jobs} ...`);
  const r = await benchOnce(opts.url, opts.jobs, C);
  ok &&= r.ok;
  process.stdout.write(JSON.stringify(r.line) + "\n");
}
process.exit(ok ? 0 : 1);
