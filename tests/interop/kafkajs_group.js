// tests/interop/kafkajs_group.js - kafkajs producer + consumer group against one
// broker, for t_kafkajs.sh. Usage: node kafkajs_group.js BOOTSTRAP TOPIC GROUP N M
// 1. admin: create TOPIC with 4 partitions, check it in metadata;
// 2. two consumers join GROUP (fromBeginning) and settle on a split of the 4
//    partitions; a producer (acks=-1) sends N keyed messages in batches, the
//    acknowledged offsets are recorded; every message is consumed exactly once
//    across the members (key, value, partition, offset as acknowledged), both
//    members consume; after disconnect the committed offsets (admin.fetchOffsets)
//    equal the partitions' high watermarks;
// 3. M more messages, a new member of GROUP reads exactly those M (resumes from
//    the commits).
// Prints "info: ..." lines; exit 0 only when every check holds. Bounded by a
// global timer (exit 3).
'use strict';
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const [bootstrap, topic, groupId, nStr, mStr] = process.argv.slice(2);
const N = parseInt(nStr, 10);
const M = parseInt(mStr, 10);
const P = 4;
const errors = [];
const logCreator = () => ({ namespace, level, log }) => {
  if (level <= logLevel.WARN) {
    const line = `${namespace}: ${log.message}${log.error ? ' (' + log.error + ')' : ''}`;
    errors.push(line);
    console.error(`kafkajs ${level === logLevel.ERROR ? 'ERROR' : 'WARN'} ${line}`);
  }
};
const mk = (id) => new Kafka({ clientId: id, brokers: [bootstrap], logLevel: logLevel.WARN, logCreator,
  retry: { retries: 5 }, connectionTimeout: 5000, requestTimeout: 15000 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const info = (s) => console.log('info: ' + s);
const die = (s) => { console.log('FAIL: ' + s); process.exit(1); };
setTimeout(() => { console.log('FAIL: kafkajs_group timed out'); process.exit(3); }, 100000).unref();

async function waitFor(what, secs, fn) {
  const end = Date.now() + secs * 1000;
  while (!fn()) {
    if (Date.now() > end) die(`timeout waiting for ${what}`);
    await sleep(100);
  }
}

function member(name, rows) {
  const c = mk('js-' + name).consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000,
    rebalanceTimeout: 20000, autoCommitInterval: 300 });
  const st = { c, name, assigned: null, joins: 0 };
  c.on(c.events.GROUP_JOIN, (e) => {
    st.joins++;
    st.assigned = (e.payload.memberAssignment[topic] || []).slice().sort();
  });
  return st;
}

async function startMember(st, rows) {
  await st.c.connect();
  await st.c.subscribe({ topics: [topic], fromBeginning: true });
  await st.c.run({
    eachMessage: async ({ partition, message }) => {
      rows.push({ m: st.name, p: partition, o: Number(message.offset),
        k: message.key && message.key.toString(), v: message.value.toString() });
    },
  });
}

async function main() {
  const admin = mk('js-admin').admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: P, replicationFactor: 1 }],
    waitForLeaders: true });
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const np = md.topics[0].partitions.length;
  info(`admin: createTopics -> ${created}, metadata ${np} partitions`);
  if (np !== P) die(`want ${P} partitions, metadata has ${np}`);

  const rows = [];
  const a = member('a', rows);
  const b = member('b', rows);
  await startMember(a, rows);
  await startMember(b, rows);
  const settled = () => a.assigned && b.assigned && a.assigned.length && b.assigned.length &&
    [...a.assigned, ...b.assigned].sort().join() === '0,1,2,3';
  await waitFor('two members splitting 4 partitions', 60, settled);
  info(`group settled: a [${a.assigned}] b [${b.assigned}] (joins a ${a.joins}, b ${b.joins})`);

  const producer = mk('js-prod').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const acked = new Map(); // "p/o" -> value
  const send = async (from, to) => {
    for (let i = from; i < to; i += 500) {
      const messages = [];
      for (let j = i; j < Math.min(i + 500, to); j++) messages.push({ key: 'k' + j, value: 'v' + j });
      const res = await producer.send({ topic, acks: -1, messages });
      // one result per partition: baseOffset of that partition's batch; the
      // partitioner is deterministic, so recompute which messages went where.
      const per = new Map();
      for (const m of messages) {
        const p = Partitioners.DefaultPartitioner()({ topic, partitionMetadata: md.topics[0].partitions, message: m });
        if (!per.has(p)) per.set(p, []);
        per.get(p).push(m.value);
      }
      for (const r of res) {
        if (r.errorCode !== 0) die(`produce error ${JSON.stringify(r)}`);
        (per.get(r.partition) || []).forEach((v, idx) => acked.set(`${r.partition}/${Number(r.baseOffset) + idx}`, v));
      }
    }
  };
  await send(0, N);
  info(`producer: ${acked.size} acknowledged`);
  if (acked.size !== N) die(`acknowledged ${acked.size} of ${N}`);
  await waitFor(`${N} messages consumed (have ${rows.length})`, 60, () => rows.length >= N);
  await sleep(1500); // duplicates and auto-commits show up now
  await a.c.disconnect();
  await b.c.disconnect();

  const check = (rs, want, what) => {
    const seen = new Map();
    let bad = 0;
    for (const r of rs) {
      const key = `${r.p}/${r.o}`;
      seen.set(key, (seen.get(key) || 0) + 1);
      if (want.get(key) !== r.v || r.k !== 'k' + r.v.slice(1)) bad++;
    }
    const dups = [...seen.values()].filter((c) => c > 1).length;
    const missing = [...want.keys()].filter((k) => !seen.has(k)).length;
    const extra = [...seen.keys()].filter((k) => !want.has(k)).length;
    info(`${what}: ${rs.length} consumed, ${dups} dups, ${missing} missing, ${extra} unacked, ${bad} wrong`);
    return dups === 0 && missing === 0 && extra === 0 && bad === 0 && rs.length === want.size;
  };
  const perMember = { a: rows.filter((r) => r.m === 'a').length, b: rows.filter((r) => r.m === 'b').length };
  info(`consumed per member ${JSON.stringify(perMember)}`);
  if (!check(rows, acked, 'group of 2')) die('group consumption not exactly once');
  if (!perMember.a || !perMember.b) die('one member consumed nothing');

  const committed = async () => {
    const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
    const hw = await admin.fetchTopicOffsets(topic);
    const c = {}, h = {};
    for (const p of offs[0].partitions) c[p.partition] = Number(p.offset);
    for (const p of hw) h[p.partition] = Number(p.high);
    info(`committed ${JSON.stringify(c)} high watermarks ${JSON.stringify(h)}`);
    return JSON.stringify(c) === JSON.stringify(h);
  };
  if (!(await committed())) die('committed offsets differ from the high watermarks');

  const acked1 = new Map(acked);
  await send(N, N + M);
  const fresh = new Map([...acked].filter(([k]) => !acked1.has(k)));
  const rows2 = [];
  const c2 = member('c', rows2);
  await startMember(c2, rows2);
  await waitFor(`${M} new messages consumed by a new member (have ${rows2.length})`, 60, () => rows2.length >= M);
  await sleep(1500);
  await c2.c.disconnect();
  if (!check(rows2, fresh, 'new member after commit')) die('new member did not resume exactly at the commits');
  if (!(await committed())) die('committed offsets after the new member differ from the high watermarks');
  const groups = await admin.listGroups();
  const desc = await admin.describeGroups([groupId]);
  info(`listGroups ${JSON.stringify(groups.groups)}; describeGroups state ${desc.groups[0].state} protocolType ${desc.groups[0].protocolType}`);
  if (!groups.groups.some((g) => g.groupId === groupId)) die('listGroups lacks the group');
  await producer.disconnect();
  await admin.disconnect();
  info(`kafkajs warnings/errors logged: ${errors.length}`);
  process.exit(0);
}

main().catch((e) => die(`${e.name}: ${e.message}${e.type ? ' type=' + e.type : ''}`));
