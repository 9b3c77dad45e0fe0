/**
 * The in-sandbox half of allowlist networking, run by the host's node inside the sandbox: it listens on
 * 127.0.0.1:PORT, relays every connection byte for byte to the egress proxy's Unix socket (which checks every
 * request: a relay here adds no path around the checks), then starts the command and exits with its status.
 * Kept dependency-free and small because it runs inside every allowlist sandbox.
 */
export const BRIDGE_SOURCE = `'use strict';
const net = require('node:net');
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [sock, port, sep, ...cmd] = process.argv.slice(2);
if (sep !== '--' || cmd.length === 0) { process.stderr.write('gatehouse-bridge: usage\\n'); process.exit(125); }
const server = net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
});
server.on('error', (e) => { process.stderr.write('gatehouse-bridge: ' + e.message + '\\n'); process.exit(125); });
server.listen(Number(port), '127.0.0.1', () => {
  const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  child.on('error', (e) => { process.stderr.write(cmd[0] + ': ' + e.message + '\\n'); process.exit(127); });
  child.on('exit', (code, sig) => process.exit(code === null ? 128 + (constants.signals[sig] || 9) : code));
});
`;

export const BRIDGE_PORT = 3128;
