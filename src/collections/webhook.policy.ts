/**
 * Which webhook URLs a collection may name, and which addresses a delivery may connect to. A
 * definition is untrusted input: a URL it names is called only when its origin is on the
 * `INGEST_WEBHOOK_ALLOWLIST` setting (exact origins), it uses https (or http to loopback, when
 * `INGEST_WEBHOOK_ALLOW_LOOPBACK` allows loopback for local receivers), it carries no credentials,
 * and every address its host resolves to is public (loopback only with that setting; never
 * private, link-local such as the metadata endpoint 169.254.169.254, or unspecified) — checked
 * again at delivery, so a DNS answer that changes after the definition was stored (rebinding)
 * still cannot reach an internal address.
 *
 * Node's own `net.BlockList` holds the address ranges: it parses IPv4, IPv6 and IPv4-mapped IPv6
 * forms the same way the socket does.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface WebhookPolicy {
  /** Exact origins (`https://hooks.example.com`, `http://127.0.0.1:8080`). */
  allowlist: readonly string[];
  /** Loopback addresses (127.0.0.0/8, ::1) may be called: local receivers and tests only. */
  allowLoopback: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Addresses no webhook may reach, whatever the allowlist says. */
const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  internal.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  internal.addSubnet(network, prefix, 'ipv6');
}

/** Why `address` (an IP literal) may not be called, or `null`. IPv4-mapped IPv6 (`::ffff:169.254.169.254`) is checked as the IPv4 it is. */
export function findAddressProblem(address: string, policy: Pick<WebhookPolicy, 'allowLoopback'>): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  const ip = mapped ? mapped[1]! : bare;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(ip) === 0) return 'is not an IP address';
  if (loopback.check(ip, family)) return policy.allowLoopback ? null : 'is a loopback address (allowed only with INGEST_WEBHOOK_ALLOW_LOOPBACK=true)';
  if (internal.check(ip, family)) return 'is a private, link-local or reserved address';
  return null;
}

/** Why a webhook URL may not be stored or called (without the DNS step), or `null`. */
export function findWebhookUrlProblem(text: string, policy: WebhookPolicy): string | null {
  if (!URL.canParse(text)) return 'is not a URL';
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `uses ${url.protocol.replace(/:$/, '')}; only https (or http to loopback) is called`;
  if (url.username || url.password) return 'carries credentials; put a secret in a header of the receiver instead';
  const literal = isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0;
  const addressProblem = literal ? findAddressProblem(url.hostname, policy) : null;
  if (addressProblem) return `names an address that ${addressProblem}`;
  const isLoopbackLiteral = literal && findAddressProblem(url.hostname, { allowLoopback: false }) !== null;
  if (url.protocol === 'http:' && !(policy.allowLoopback && (isLoopbackLiteral || url.hostname === 'localhost'))) return 'uses http; only https is called (http only to loopback, with INGEST_WEBHOOK_ALLOW_LOOPBACK=true)';
  if (url.hostname === 'localhost' && !policy.allowLoopback) return 'names localhost (allowed only with INGEST_WEBHOOK_ALLOW_LOOPBACK=true)';
  if (!policy.allowlist.includes(url.origin)) return `its origin ${url.origin.slice(0, 200)} is not on INGEST_WEBHOOK_ALLOWLIST`;
  return null;
}

/**
 * The addresses a delivery may connect to: every address the host resolves to must pass, or the
 * delivery is refused (one internal answer among public ones is enough to refuse: a client may
 * pick any). Returns the problem, or the checked addresses.
 */
export async function resolveWebhookAddresses(text: string, policy: WebhookPolicy, resolve: typeof lookup = lookup): Promise<{ ok: true; addresses: string[] } | { ok: false; problem: string }> {
  const problem = findWebhookUrlProblem(text, policy);
  if (problem) return { ok: false, problem };
  const host = new URL(text).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return { ok: true, addresses: [host] };
  let answers: Array<{ address: string }>;
  try {
    answers = await resolve(host, { all: true, verbatim: true });
  } catch {
    return { ok: false, problem: 'its host does not resolve' };
  }
  for (const { address } of answers) {
    const addressProblem = findAddressProblem(address, policy);
    if (addressProblem) return { ok: false, problem: `its host resolves to an address that ${addressProblem}` };
  }
  return answers.length > 0 ? { ok: true, addresses: answers.map(({ address }) => address) } : { ok: false, problem: 'its host does not resolve' };
}
