/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): where the process spent its time, by
 * package and by function, counting each sample where it was taken (self time).
 */
import { readFile } from 'node:fs/promises';

/** `pg`, `pg-copy-streams`, `slate-replicator (db/sourceReader.js)`, `node internals`, `(idle)`, ... */
function ownerOf(url, functionName) {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules !== null) return inModules[1];
  if (url.startsWith('node:')) return 'node internals';
  const inDist = /\/dist\/(.+)$/.exec(url);
  if (inDist !== null) return `slate-replicator (${inDist[1]})`;
  return url;
}

export async function summarizeCpuProfile(path, { top = 15 } = {}) {
  const profile = JSON.parse(await readFile(path, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  // timeDeltas[i] is the time before sample i; charge it to that sample's node.
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = profile.endTime - profile.startTime;
  const byOwner = new Map();
  const byFunction = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const owner = ownerOf(callFrame.url, callFrame.functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
    const where = callFrame.url === '' ? '' : ` ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${callFrame.lineNumber + 1}`;
    const fn = `${callFrame.functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const share = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Number(((100 * us) / totalUs).toFixed(1)) }));
  return { totalMs: Math.round(totalUs / 1000), byPackage: share(byOwner), byFunction: share(byFunction) };
}
