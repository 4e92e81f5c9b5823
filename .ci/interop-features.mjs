#!/usr/bin/env node
// Resources, templates, prompts, completion and resource links through the official TypeScript SDK
// clients, in every era: check.mjs (../shared/mcp-interop) drives tools only, so this companion
// drives the rest the same way. interop.sh copies it beside check.mjs, whose node_modules it uses.
//
//   node interop-features.mjs -e KEY=VALUE ... -- <server command> [args...]
//
// The server runs twice per client: without the token (PORT_HUNTER_REQUIRE_TOKEN=false, every
// feature) and with it (PORT_HUNTER_TOKEN from -e: no capture resources, no completion; prompts and
// the evidence a tool call made still work). The allowed directory must hold demo.pcapng.
// Output: one PASS/FAIL line per check, then "features: N passed, M failed" (exit 1 on a failure).

import crypto from 'node:crypto';

const MODERN = '2026-07-28';
const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
if (dd < 0) { console.error('usage: node interop-features.mjs [-e K=V]... -- server [args]'); process.exit(2); }
const env = { ...process.env };
for (let i = 0; i < dd; i++) if (argv[i] === '-e') { const kv = argv[++i]; const j = kv.indexOf('='); env[kv.slice(0, j)] = kv.slice(j + 1); }
const [command, ...args] = argv.slice(dd + 1);
const token = env.PORT_HUNTER_TOKEN ?? '';

let passed = 0, failed = 0;
const pass = (name, detail = '') => { passed++; console.log(`PASS  ${name}${detail ? ` — ${detail}` : ''}`); };
const fail = (name, detail = '') => { failed++; console.log(`FAIL  ${name}${detail ? ` — ${detail}` : ''}`); };
const check = (name, ok, detail) => (ok ? pass(name, ok === true ? '' : String(ok)) : fail(name, detail));

async function makeClient(kind, serverEnv) {
  const spawn = { command, args, env: serverEnv, stderr: 'ignore' };
  if (kind === 'v1') {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client({ name: 'interop-features', version: '0.1.0' }, { capabilities: {} });
    return { client, transport: new StdioClientTransport(spawn), callTool: (p) => client.callTool(p) };
  }
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const mode = kind === 'v2-auto' ? 'auto' : kind === 'v2-modern' ? { pin: MODERN } : 'legacy';
  const client = new Client({ name: 'interop-features', version: '0.1.0' }, { capabilities: {}, versionNegotiation: { mode } });
  return { client, transport: new StdioClientTransport(spawn), callTool: (p) => client.callTool(p) };
}

// listAll walks a list method page by page (the 1.x client returns one page per call).
async function listAll(fn, key) {
  const out = [];
  let cursor;
  for (let pages = 0; pages < 100; pages++) {
    const r = await fn(cursor === undefined ? undefined : { cursor });
    out.push(...r[key]);
    cursor = r.nextCursor;
    if (cursor === undefined || cursor === null) break;
  }
  return out;
}

async function errorOf(p) {
  try { await p; return undefined; } catch (e) { return e; }
}

async function session(kind, withToken) {
  const P = (n) => `[${kind}${withToken ? ' token' : ''}] ${n}`;
  const serverEnv = { ...env };
  if (!withToken) serverEnv.PORT_HUNTER_REQUIRE_TOKEN = 'false';
  const c = await makeClient(kind, serverEnv);
  const errors = [];
  c.client.onerror = (e) => errors.push(e?.message ?? String(e));
  try {
    await c.client.connect(c.transport);
  } catch (e) { fail(P('connect'), e.message); return; }
  const version = c.client.getNegotiatedProtocolVersion?.() ?? '2025-11-25';
  const modern = version === MODERN;
  // Resource not found is -32002 up to 2025-11-25 and -32602 in 2026-07-28; the 2.x client
  // reports both as -32602 (ResourceNotFoundError) when error.data carries the URI.
  const notFound = modern || kind !== 'v1' ? -32602 : -32002;
  const caps = c.client.getServerCapabilities() ?? {};
  const want = withToken ? ['prompts', 'resources', 'tools'] : ['completions', 'prompts', 'resources', 'tools'];
  check(P('capabilities'), JSON.stringify(Object.keys(caps).sort()) === JSON.stringify(want) && `${Object.keys(caps).sort().join(',')} (protocol ${version})`,
    `got ${JSON.stringify(caps)}, want ${want}`);
  const auth = withToken ? { auth_token: token } : {};
  try {
    // resources and templates
    const resources = await listAll((p) => c.client.listResources(p), 'resources');
    const templates = await listAll((p) => c.client.listResourceTemplates(p), 'resourceTemplates');
    if (withToken) {
      check(P('resources/list'), resources.length === 0 && 'empty with the token required', `${resources.length} resources listed`);
      check(P('resources/templates/list'), templates.length === 0 && 'empty with the token required', `${templates.length} templates`);
      const e = await errorOf(c.client.readResource({ uri: 'porthunter://capture/demo.pcapng/overview' }));
      check(P('resources/read capture refused'), e?.code === notFound && e.data?.uri && `error ${e.code}`, `got ${e?.code ?? 'a result'}`);
    } else {
      const demo = resources.find((r) => r.name === 'demo.pcapng');
      check(P('resources/list'), resources.length > 10 && demo && `${resources.length} resources`, `${resources.length} resources, demo.pcapng ${demo ? 'listed' : 'missing'}`);
      check(P('resources/templates/list'), templates.length === 3 && templates.map((t) => t.uriTemplate).join(' '), JSON.stringify(templates));
      const ov = await c.client.readResource({ uri: demo.uri });
      const ovJSON = JSON.parse(ov.contents[0].text);
      check(P('resources/read overview'), ovJSON.ok === true && ov.contents[0].mimeType === 'application/json' && `${ov.contents[0].text.length} chars`, JSON.stringify(ov).slice(0, 300));
      const scanner = templates.find((t) => t.uriTemplate.includes('{ip}')).uriTemplate
        .replace('{path}', encodeURIComponent('demo.pcapng')).replace('{ip}', encodeURIComponent('203.0.113.66'));
      const sc = JSON.parse((await c.client.readResource({ uri: scanner })).contents[0].text);
      check(P('resources/read template scanner'), sc.found === true && scanner, JSON.stringify(sc).slice(0, 300));
      const rep = await c.client.readResource({ uri: 'porthunter://capture/demo.pcapng/report' });
      check(P('resources/read template report'), rep.contents[0].mimeType === 'text/markdown' && /frame 229/.test(rep.contents[0].text) && 'Markdown citing frame 229', rep.contents[0].text?.slice(0, 200));
      const e = await errorOf(c.client.readResource({ uri: 'porthunter://capture/..%2F..%2Fetc%2Fpasswd/overview' }));
      check(P('resources/read outside'), e?.code === notFound && e.data?.uri && `error ${e.code}`, `got ${e?.code ?? 'a result'}`);
    }
    // prompts
    const prompts = await listAll((p) => c.client.listPrompts(p), 'prompts');
    check(P('prompts/list'), prompts.length === 3 && prompts.map((p) => p.name).join(' '), JSON.stringify(prompts).slice(0, 300));
    const g = await c.client.getPrompt({ name: 'triage_capture', arguments: { path: 'demo.pcapng' } });
    const text = g.messages[0].content.text;
    check(P('prompts/get'), text.includes('scan_overview {"path":"demo.pcapng"}') && (!token || !text.includes(token)) && `${text.length} chars`, text.slice(0, 200));
    const pe = await errorOf(c.client.getPrompt({ name: 'investigate_scanner', arguments: { path: 'demo.pcapng' } }));
    check(P('prompts/get missing argument'), pe?.code === -32602 && 'error -32602', `got ${pe?.code ?? 'a result'}`);
    // completion
    if (!withToken) {
      const cp = await c.client.complete({ ref: { type: 'ref/prompt', name: 'triage_capture' }, argument: { name: 'path', value: 'de' } });
      check(P('completion/complete path'), cp.completion.values.includes('demo.pcapng') && cp.completion.values.join(','), JSON.stringify(cp));
      await c.callTool({ name: 'list_suspects', arguments: { ...auth, path: 'demo.pcapng' } });
      const ci = await c.client.complete({ ref: { type: 'ref/resource', uri: 'porthunter://capture/{path}/scanner/{ip}' },
        argument: { name: 'ip', value: '203' }, context: { arguments: { path: 'demo.pcapng' } } });
      check(P('completion/complete scanner'), ci.completion.values[0] === '203.0.113.66' && ci.completion.values.join(','), JSON.stringify(ci));
    }
    // resource links: carve and report
    const carve = await c.callTool({ name: 'carve', arguments: { ...auth, path: 'demo.pcapng', ip: '203.0.113.66' } });
    const link = carve.content.find((b) => b.type === 'resource_link');
    check(P('carve resource_link'), !carve.isError && link?.mimeType === 'application/x-pcapng' && link.uri, JSON.stringify(carve).slice(0, 400));
    if (link) {
      const blob = (await c.client.readResource({ uri: link.uri })).contents[0];
      const bytes = Buffer.from(blob.blob, 'base64');
      const sum = crypto.createHash('sha256').update(bytes).digest('hex');
      const sc = carve.structuredContent;
      check(P('resources/read carve'), sum === sc.sha256 && blob._meta?.['porthunter/sha256'] === sum && blob._meta?.['porthunter/packets'] === sc.packets
        && bytes.readUInt32LE(0) === 0x0a0d0d0a && `${bytes.length} bytes pcapng, ${sc.packets} packets, sha256 matches`, `sha ${sum} vs ${sc.sha256}, meta ${JSON.stringify(blob._meta)}`);
    }
    const report = await c.callTool({ name: 'report', arguments: { ...auth, path: 'demo.pcapng' } });
    const rlink = report.content.find((b) => b.type === 'resource_link');
    check(P('report resource_link'), !report.isError && rlink?.mimeType === 'text/markdown' && rlink.uri, JSON.stringify(report).slice(0, 400));
    if (rlink) {
      const md = (await c.client.readResource({ uri: rlink.uri })).contents[0].text;
      check(P('resources/read report'), md === report.structuredContent.markdown && `${md.length} chars`, 'the resource differs from the answer');
    }
  } catch (e) {
    fail(P('session'), e.stack ?? e.message);
  }
  for (const e of errors) fail(P('client error'), e);
  try { await c.client.close(); } catch { /* ignore */ }
}

for (const kind of ['v1', 'v2', 'v2-auto', 'v2-modern']) {
  for (const withToken of [false, true]) await session(kind, withToken);
}
console.log(`features: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
