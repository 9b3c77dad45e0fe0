import { createHash, type KeyObject, randomBytes, sign, webcrypto, X509Certificate } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { KeyAlg, Keyring } from '../store/keyring.js';
import type { Store } from '../store/store.js';
import type { AgentRecord } from './agents.js';
import { IdentityCodes, IdentityError } from './errors.js';
import type { ChangeFeed } from './feed.js';
import { toCryptoKey, webCryptoParams } from './keys.js';

let x509Lib: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 is loaded on first use, not at import: it needs a global Reflect metadata polyfill and a global
 * crypto provider, and importing Gatehouse must change no globals. Only issuing or re-encoding certificates needs it;
 * verification uses node:crypto.
 */
function loadX509(): Promise<typeof X509> {
  x509Lib ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    return lib;
  })();
  return x509Lib;
}

/** The subject as @peculiar/x509 encodes it, to copy byte for byte into the issuer of what it signs. */
function subjectName(lib: typeof X509, c: CaCert): X509.Name {
  return new lib.X509Certificate(c.row.pem).subjectName;
}

const ROOT_PURPOSE = 'ca-root';
const INTERMEDIATE_PURPOSE = 'ca-intermediate';
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export interface CaOptions {
  trustDomain: string;
  keyAlgorithm: 'Ed25519' | 'P-384';
  rootLifetimeMs: number;
  intermediateLifetimeMs: number;
  leafLifetimeMs: number;
  crlLifetimeMs: number;
}

/** A leaf certificate Gatehouse issued to an agent. */
export interface IssuedCertificate {
  serial: string;
  agent: string;
  spiffeId: string;
  pem: string;
  /** Leaf, intermediate and root, PEM, leaf first. */
  chainPem: string;
  notBefore: number;
  notAfter: number;
  /** Half-life: ask for a new certificate from then on. */
  renewAt: number;
}

/** What a verified client certificate establishes. */
export interface CertificateIdentity {
  agent: string;
  serial: string;
  spiffeId: string;
  notAfter: number;
  /** SPKI DER of the certificate's key, to compare with the agent's registered key. */
  spki: Buffer;
}

interface CertRow {
  serial: string;
  kind: 'root' | 'intermediate' | 'leaf' | 'server';
  agent: string | null;
  pem: string;
  key_id: string | null;
  fingerprint: string;
  not_before: number;
  not_after: number;
  issued_at: number;
  revoked_at: number | null;
}

interface CaCert {
  row: CertRow;
  cert: X509Certificate;
  /** Its subject key identifier (hex): the authority key identifier of what it signs. */
  keyId: string;
}

interface ParsedLeaf {
  cert: X509Certificate;
  serial: string;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  eku: readonly string[] | undefined;
  uris: string[];
  spki: Buffer;
}

/**
 * The agent certificate authority: root → intermediate → 24 h agent leaves with a SPIFFE URI SAN and the
 * clientAuth EKU. Certificates are made with @peculiar/x509 and checked on the hot path with node:crypto's
 * X509Certificate (several times faster). The CA private keys live sealed in the keyring.
 *
 * @example
 * await ca.init();                        // idempotent: root, then an intermediate renewed at half-life
 * const cert = await ca.issue(agent, key); // cert.chainPem for the agent's TLS client
 * ca.verify(pem);                         // → { agent, serial, … } or an IdentityError with its reason code
 */
export class CertificateAuthority {
  private intermediates: CaCert[] = [];
  private root: CaCert | undefined;
  /** Every root, newest last: two processes initialising at once may each have made one. */
  private readonly roots: CaCert[] = [];
  private readonly revoked = new Set<string>();
  private readonly parsed = new Map<string, ParsedLeaf>();
  private signer: Signer | undefined;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly clock: Clock,
    private readonly audit: AuditSink,
    private readonly feed: ChangeFeed,
    private readonly opts: CaOptions,
  ) {
    feed.subscribe((since) => this.loadSince(since));
  }

  get spiffePrefix(): string {
    return `spiffe://${this.opts.trustDomain}/agent/`;
  }

  spiffeId(agent: string): string {
    return `${this.spiffePrefix}${agent}`;
  }

  /** True once a root and a usable intermediate exist. */
  get ready(): boolean {
    this.feed.check();
    return this.root !== undefined && this.currentIntermediate() !== undefined;
  }

  /**
   * Creates the root (once) and an intermediate, and replaces the intermediate once it is past half its life.
   * Idempotent: safe to call on every start.
   */
  async init(actor = 'host'): Promise<{ createdRoot: boolean; createdIntermediate: boolean }> {
    await this.feed.sync();
    const now = this.clock.now();
    let createdRoot = false;
    let createdIntermediate = false;
    if (!this.root || this.root.row.not_after - now < this.opts.intermediateLifetimeMs) {
      await this.createRoot();
      createdRoot = true;
    }
    const inter = this.currentIntermediate();
    if (createdRoot || !inter || now >= renewAt(inter.row)) {
      await this.createIntermediate();
      createdIntermediate = true;
    }
    if (createdRoot || createdIntermediate) {
      await this.audit.append(
        {
          type: 'identity.ca_initialized',
          actor,
          data: {
            createdRoot,
            createdIntermediate,
            root: this.root?.row.serial,
            intermediate: this.currentIntermediate()?.row.serial,
          },
        },
        { durable: true },
      );
    }
    return { createdRoot, createdIntermediate };
  }

  /** Root and intermediate certificates, PEM, intermediate first (what a TLS server sends as its client CA bundle). */
  chainPem(): string {
    this.requireReady();
    const inter = this.currentIntermediate()!;
    return `${inter.row.pem}${this.rootOf(inter).row.pem}`;
  }

  /** The root the current intermediate chains to: what clients and TLS peers should trust. */
  rootPem(): string {
    this.requireReady();
    return this.rootOf(this.currentIntermediate()!).row.pem;
  }

  /**
   * Issues a leaf certificate for `agent`'s current key. The certificate lives `leafLifetimeMs` (never past the
   * intermediate) and should be renewed from `renewAt` (half-life).
   */
  async issue(agent: AgentRecord, publicKey: KeyObject, actor: string): Promise<IssuedCertificate> {
    const x509 = await loadX509();
    if (!agent.key) throw new IdentityError(IdentityCodes.agentNoKey, `agent ${agent.id} has no key to certify`);
    this.requireReady();
    // A long-running gateway renews the intermediate itself once it is past half its life.
    if (this.clock.now() >= renewAt(this.currentIntermediate()!.row)) await this.init('gatehouse');
    const inter = this.currentIntermediate()!;
    const now = this.clock.now();
    const notBefore = now - 60_000;
    const notAfter = Math.min(now + this.opts.leafLifetimeMs, inter.row.not_after);
    const signer = await this.intermediateSigner(inter);
    // Key identifiers and the subject key come straight from the SPKI (RFC 5280 4.2.1.2 method 1), computed
    // synchronously: each WebCrypto call would be another thread-pool hop on the issuing path.
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const spiffeId = this.spiffeId(agent.id);
    const serial = newSerial();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial,
        subject: `CN=${agent.id}, O=${escapeDn(this.opts.trustDomain)}`,
        issuer: subjectName(x509, inter),
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        publicKey: spki,
        signingKey: signer.key,
        signingAlgorithm: webCryptoParams(this.opts.keyAlgorithm).signParams,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
          new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki)),
          new x509.AuthorityKeyIdentifierExtension(inter.keyId),
        ],
      },
      signer.crypto,
    );
    const pem = cert.toString('pem');
    const row: CertRow = {
      serial,
      kind: 'leaf',
      agent: agent.id,
      pem: `${pem}\n`,
      key_id: agent.key.jkt,
      fingerprint: fingerprint(cert.rawData),
      not_before: notBefore,
      not_after: notAfter,
      issued_at: now,
      revoked_at: null,
    };
    await this.insert(row);
    await this.audit.append(
      {
        type: 'identity.certificate_issued',
        agent: agent.id,
        actor,
        data: { serial, spiffeId, notAfter: new Date(notAfter).toISOString(), jkt: agent.key.jkt },
      },
      { durable: true },
    );
    return {
      serial,
      agent: agent.id,
      spiffeId,
      pem: row.pem,
      chainPem: `${row.pem}${inter.row.pem}${this.rootOf(inter).row.pem}`,
      notBefore,
      notAfter,
      renewAt: notBefore + (notAfter - notBefore) / 2,
    };
  }

  /**
   * A TLS server certificate for the gateway itself (serverAuth EKU; DNS and IP SANs plus
   * `spiffe://<trust-domain>/gatehouse`), so agents can present client certificates in the handshake.
   * Lives `lifetimeMs` (never past the intermediate).
   */
  async issueServer(
    names: { dns: readonly string[]; ips: readonly string[] },
    publicKey: KeyObject,
    lifetimeMs: number,
    actor: string,
  ): Promise<{ serial: string; pem: string; chainPem: string; notAfter: number }> {
    const x509 = await loadX509();
    this.requireReady();
    if (this.clock.now() >= renewAt(this.currentIntermediate()!.row)) await this.init('gatehouse');
    const inter = this.currentIntermediate()!;
    const now = this.clock.now();
    const notAfter = Math.min(now + lifetimeMs, inter.row.not_after);
    const signer = await this.intermediateSigner(inter);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const serial = newSerial();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial,
        subject: `CN=${names.dns[0] ?? names.ips[0] ?? 'gatehouse'}, O=${escapeDn(this.opts.trustDomain)}`,
        issuer: subjectName(x509, inter),
        notBefore: new Date(now - 60_000),
        notAfter: new Date(notAfter),
        publicKey: spki,
        signingKey: signer.key,
        signingAlgorithm: webCryptoParams(this.opts.keyAlgorithm).signParams,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          new x509.SubjectAlternativeNameExtension(
            [
              ...names.dns.map((value) => ({ type: 'dns' as const, value })),
              ...names.ips.map((value) => ({ type: 'ip' as const, value })),
              { type: 'url' as const, value: `spiffe://${this.opts.trustDomain}/gatehouse` },
            ],
            false,
          ),
          new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki)),
          new x509.AuthorityKeyIdentifierExtension(inter.keyId),
        ],
      },
      signer.crypto,
    );
    const pem = `${cert.toString('pem')}\n`;
    await this.insert({
      serial,
      kind: 'server',
      agent: null,
      pem,
      key_id: null,
      fingerprint: fingerprint(cert.rawData),
      not_before: now - 60_000,
      not_after: notAfter,
      issued_at: now,
      revoked_at: null,
    });
    await this.audit.append(
      {
        type: 'identity.certificate_issued',
        actor,
        data: {
          serial,
          kind: 'server',
          names: [...names.dns, ...names.ips],
          notAfter: new Date(notAfter).toISOString(),
        },
      },
      { durable: true },
    );
    return { serial, pem, chainPem: `${pem}${inter.row.pem}`, notAfter };
  }

  /** The agent's newest unrevoked leaf for its current key, if it is before its half-life. */
  async currentLeaf(agent: AgentRecord): Promise<IssuedCertificate | undefined> {
    if (!agent.key) return undefined;
    const now = this.clock.now();
    const row = await this.store.get<CertRow>(
      `SELECT * FROM identity_certs WHERE kind = 'leaf' AND agent = ? AND key_id = ? AND revoked_at IS NULL AND not_after > ?
       ORDER BY not_after DESC LIMIT 1`,
      [agent.id, agent.key.jkt, now],
    );
    if (!row || now >= renewAt(row)) return undefined;
    const inter = this.intermediateFor(row);
    if (!inter || !this.root) return undefined;
    return {
      serial: row.serial,
      agent: agent.id,
      spiffeId: this.spiffeId(agent.id),
      pem: row.pem,
      chainPem: `${row.pem}${inter.row.pem}${this.rootOf(inter).row.pem}`,
      notBefore: row.not_before,
      notAfter: row.not_after,
      renewAt: renewAt(row),
    };
  }

  /** Leaf certificates of one agent, newest first. */
  async certificatesOf(
    agent: string,
  ): Promise<Array<{ serial: string; notBefore: number; notAfter: number; revokedAt: number | undefined }>> {
    const rows = await this.store.all<CertRow>(
      `SELECT * FROM identity_certs WHERE kind = 'leaf' AND agent = ? ORDER BY issued_at DESC`,
      [agent],
    );
    return rows.map((r) => ({
      serial: r.serial,
      notBefore: r.not_before,
      notAfter: r.not_after,
      revokedAt: r.revoked_at ?? undefined,
    }));
  }

  /**
   * Verifies a client certificate (PEM; extra certificates after the first are ignored: the chain is always
   * built from Gatehouse's own intermediates). Throws an IdentityError with the reason code of the failure.
   */
  verify(pem: string): CertificateIdentity {
    this.feed.check();
    const leaf = this.parse(pem);
    const inter = this.intermediates.find(
      (i) => !this.revoked.has(i.row.serial) && leaf.cert.checkIssued(i.cert) && leaf.cert.verify(i.cert.publicKey),
    );
    if (!inter) throw new IdentityError(IdentityCodes.certUntrusted, 'certificate is not issued by this Gatehouse CA');
    const now = this.clock.now();
    if (this.revoked.has(leaf.serial)) {
      throw new IdentityError(IdentityCodes.certRevoked, `certificate ${leaf.serial} is revoked`);
    }
    if (now < leaf.notBefore) throw new IdentityError(IdentityCodes.certNotYetValid, 'certificate is not yet valid');
    if (now >= leaf.notAfter || now >= inter.row.not_after) {
      throw new IdentityError(IdentityCodes.certExpired, `certificate ${leaf.serial} has expired`);
    }
    if (leaf.isCa || !leaf.eku?.includes(CLIENT_AUTH_OID)) {
      throw new IdentityError(IdentityCodes.certUsage, 'certificate is not a client-authentication leaf certificate');
    }
    const ids = leaf.uris.filter((u) => u.startsWith('spiffe://'));
    const id = ids.length === 1 ? ids[0]! : undefined;
    if (
      !id?.startsWith(this.spiffePrefix) ||
      !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id.slice(this.spiffePrefix.length))
    ) {
      throw new IdentityError(
        IdentityCodes.certIdentity,
        `certificate does not name an agent of trust domain ${this.opts.trustDomain}`,
      );
    }
    return {
      agent: id.slice(this.spiffePrefix.length),
      serial: leaf.serial,
      spiffeId: id,
      notAfter: leaf.notAfter,
      spki: leaf.spki,
    };
  }

  isRevoked(serial: string): boolean {
    this.feed.check();
    return this.revoked.has(serial);
  }

  /** Puts one certificate on the revocation list. */
  async revoke(serial: string, reason: string, actor: string): Promise<boolean> {
    const row = await this.store.get<CertRow>('SELECT * FROM identity_certs WHERE serial = ?', [serial.toLowerCase()]);
    if (!row) return false;
    if (row.revoked_at !== null) return false;
    await this.markRevoked([row.serial], reason);
    await this.audit.append(
      {
        type: 'identity.certificate_revoked',
        ...(row.agent ? { agent: row.agent } : {}),
        actor,
        data: { serial: row.serial, kind: row.kind, reason },
      },
      { durable: true },
    );
    return true;
  }

  /** Revokes every unexpired certificate of an agent (on key rotation, revocation or compromise). */
  async revokeAgent(agent: string, reason: string, actor: string): Promise<string[]> {
    const rows = await this.store.all<{ serial: string }>(
      `SELECT serial FROM identity_certs WHERE kind = 'leaf' AND agent = ? AND revoked_at IS NULL AND not_after > ?`,
      [agent, this.clock.now()],
    );
    const serials = rows.map((r) => r.serial);
    if (serials.length === 0) return [];
    await this.markRevoked(serials, reason);
    await this.audit.append(
      { type: 'identity.certificate_revoked', agent, actor, data: { serials, reason } },
      { durable: true },
    );
    return serials;
  }

  /**
   * Emergency: revokes the current intermediate (every leaf it issued stops verifying at once) and makes a new one.
   */
  async rotateIntermediate(reason: string, actor: string): Promise<void> {
    this.requireReady();
    const old = this.currentIntermediate()!;
    await this.markRevoked([old.row.serial], reason);
    this.signer = undefined;
    await this.createIntermediate();
    await this.audit.append(
      {
        type: 'identity.ca_intermediate_rotated',
        actor,
        data: { revoked: old.row.serial, current: this.currentIntermediate()?.row.serial, reason },
      },
      { durable: true },
    );
  }

  /** The CRL (signed by the current intermediate) of every revoked, unexpired certificate. */
  async crlPem(): Promise<string> {
    const x509 = await loadX509();
    this.requireReady();
    const inter = this.currentIntermediate()!;
    const now = this.clock.now();
    const rows = await this.store.all<CertRow>(
      'SELECT * FROM identity_certs WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY revoked_at',
      [now],
    );
    const signer = await this.intermediateSigner(inter);
    const crl = await x509.X509CrlGenerator.create({
      issuer: subjectName(x509, inter),
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + this.opts.crlLifetimeMs),
      signingKey: signer.key,
      signingAlgorithm: webCryptoParams(this.opts.keyAlgorithm).signParams,
      entries: rows.map((r) => ({ serialNumber: r.serial, revocationDate: new Date(r.revoked_at!) })),
    });
    // RFC 7468 names the label X509 CRL (what openssl and most tools expect).
    return `${crl.toString('pem').replace(/-----(BEGIN|END) CRL-----/g, '-----$1 X509 CRL-----')}\n`;
  }

  private requireReady(): void {
    if (!this.root || !this.currentIntermediate()) {
      throw new IdentityError(IdentityCodes.caMissing, "no certificate authority: run 'gatehouse init'");
    }
  }

  /** The root that signed `inter` (the newest root if none matches, which cannot happen with our own data). */
  private rootOf(inter: CaCert): CaCert {
    return this.roots.find((r) => inter.cert.checkIssued(r.cert) && inter.cert.verify(r.cert.publicKey)) ?? this.root!;
  }

  private currentIntermediate(): CaCert | undefined {
    const now = this.clock.now();
    let best: CaCert | undefined;
    for (const i of this.intermediates) {
      if (this.revoked.has(i.row.serial) || i.row.not_after <= now) continue;
      if (!best || i.row.issued_at > best.row.issued_at) best = i;
    }
    return best;
  }

  private intermediateFor(row: CertRow): CaCert | undefined {
    const cert = new X509Certificate(row.pem);
    return this.intermediates.find(
      (i) =>
        !this.revoked.has(i.row.serial) &&
        i.row.not_after > this.clock.now() &&
        cert.checkIssued(i.cert) &&
        cert.verify(i.cert.publicKey),
    );
  }

  private async intermediateSigner(inter: CaCert): Promise<Signer> {
    if (this.signer && this.signer.kid === inter.row.key_id) return this.signer;
    const kid = inter.row.key_id!;
    const privateKey = await this.keyring.privateKey(kid);
    const key = await toCryptoKey(privateKey, this.opts.keyAlgorithm, 'sign');
    this.signer = { kid, key, crypto: inlineSigningCrypto(privateKey, this.opts.keyAlgorithm) };
    return this.signer;
  }

  private async createRoot(): Promise<void> {
    const x509 = await loadX509();
    const alg: KeyAlg = this.opts.keyAlgorithm;
    const rec = await this.keyring.rotate(ROOT_PURPOSE, alg);
    const now = this.clock.now();
    const pub = await toCryptoKey(rec.publicKey, alg, 'verify');
    const priv = await toCryptoKey(await this.keyring.privateKey(rec.kid), alg, 'sign');
    const name = `CN=Gatehouse Root CA, O=${escapeDn(this.opts.trustDomain)}`;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: newSerial(),
      subject: name,
      issuer: name,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + this.opts.rootLifetimeMs),
      publicKey: pub,
      signingKey: priv,
      signingAlgorithm: webCryptoParams(alg).signParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(pub),
      ],
    });
    await this.insert(caRow(cert, 'root', rec.kid, now));
  }

  private async createIntermediate(): Promise<void> {
    const x509 = await loadX509();
    const root = this.root!;
    const alg: KeyAlg = this.opts.keyAlgorithm;
    const rec = await this.keyring.rotate(INTERMEDIATE_PURPOSE, alg);
    const now = this.clock.now();
    const pub = await toCryptoKey(rec.publicKey, alg, 'verify');
    const rootPub = await toCryptoKey(root.cert.publicKey, alg, 'verify');
    const rootPriv = await toCryptoKey(await this.keyring.privateKey(root.row.key_id!), alg, 'sign');
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: newSerial(),
      subject: `CN=Gatehouse Agent CA ${new Date(now).toISOString().slice(0, 10)}, O=${escapeDn(this.opts.trustDomain)}`,
      issuer: subjectName(x509, root),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(Math.min(now + this.opts.intermediateLifetimeMs, root.row.not_after)),
      publicKey: pub,
      signingKey: rootPriv,
      signingAlgorithm: webCryptoParams(alg).signParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(pub),
        await x509.AuthorityKeyIdentifierExtension.create(rootPub),
      ],
    });
    await this.insert(caRow(cert, 'intermediate', rec.kid, now));
  }

  private async insert(row: CertRow): Promise<void> {
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run(
        `INSERT INTO identity_certs (serial, kind, agent, pem, key_id, fingerprint, not_before, not_after, issued_at, revoked_at, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
        [
          row.serial,
          row.kind,
          row.agent,
          row.pem,
          row.key_id,
          row.fingerprint,
          row.not_before,
          row.not_after,
          row.issued_at,
          seq,
        ],
      );
    });
    this.track(row);
  }

  private async markRevoked(serials: readonly string[], reason: string): Promise<void> {
    const now = this.clock.now();
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      for (const s of serials) {
        await this.store.run(
          'UPDATE identity_certs SET revoked_at = ?, revoked_reason = ?, seq = ? WHERE serial = ? AND revoked_at IS NULL',
          [now, reason, seq, s],
        );
      }
    });
    for (const s of serials) this.revoked.add(s);
  }

  private async loadSince(since: number): Promise<void> {
    // Leaves are not kept in memory: only CA certificates and revoked serials matter for verification.
    const rows = await this.store.all<CertRow>(
      `SELECT * FROM identity_certs WHERE seq > ? AND (kind IN ('root', 'intermediate') OR revoked_at IS NOT NULL)`,
      [since],
    );
    for (const row of rows) this.track(row);
  }

  private track(row: CertRow): void {
    if (row.revoked_at !== null) this.revoked.add(row.serial);
    if (row.kind !== 'root' && row.kind !== 'intermediate') return;
    const cert = new X509Certificate(row.pem);
    const entry: CaCert = {
      row,
      cert,
      keyId: keyIdentifier(cert.publicKey.export({ format: 'der', type: 'spki' })),
    };
    if (row.kind === 'root') {
      if (!this.roots.some((r) => r.row.serial === row.serial)) this.roots.push(entry);
      if (!this.root || row.issued_at >= this.root.row.issued_at) this.root = entry;
    } else if (!this.intermediates.some((i) => i.row.serial === row.serial)) {
      this.intermediates.push(entry);
    }
  }

  private parse(pem: string): ParsedLeaf {
    if (typeof pem !== 'string' || pem.length > 64 * 1024) {
      throw new IdentityError(IdentityCodes.certMalformed, 'client certificate is missing or too large');
    }
    const m = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]{1,16384}-----END CERTIFICATE-----/.exec(pem);
    if (!m) throw new IdentityError(IdentityCodes.certMalformed, 'client certificate is not a PEM certificate');
    const key = createHash('sha256').update(m[0]).digest('hex');
    const hit = this.parsed.get(key);
    if (hit) return hit;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(m[0]);
    } catch (err) {
      throw new IdentityError(IdentityCodes.certMalformed, 'client certificate cannot be parsed', { cause: err });
    }
    const parsed: ParsedLeaf = {
      cert,
      serial: cert.serialNumber.toLowerCase(),
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
      isCa: cert.ca,
      eku: cert.keyUsage,
      uris: (cert.subjectAltName ?? '')
        .split(', ')
        .filter((s) => s.startsWith('URI:'))
        .map((s) => s.slice(4)),
      spki: cert.publicKey.export({ format: 'der', type: 'spki' }),
    };
    if (this.parsed.size >= 10_000) this.parsed.clear();
    this.parsed.set(key, parsed);
    return parsed;
  }
}

/**
 * SHA-1 of the subjectPublicKey BIT STRING of a DER SubjectPublicKeyInfo (RFC 5280 4.2.1.2, method 1), the same
 * identifier @peculiar/x509 computes. SPKI is SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the first, take the second.
 */
export function keyIdentifier(spki: Buffer): string {
  const header = (at: number): { len: number; start: number } => {
    const first = spki[at + 1]!;
    if (first < 0x80) return { len: first, start: at + 2 };
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + spki[at + 2 + i]!;
    return { len, start: at + 2 + n };
  };
  const outer = header(0);
  const alg = header(outer.start);
  const bitsAt = alg.start + alg.len;
  if (spki[0] !== 0x30 || spki[outer.start] !== 0x30 || spki[bitsAt] !== 0x03) {
    throw new IdentityError(IdentityCodes.keyInvalid, 'public key is not a DER SubjectPublicKeyInfo');
  }
  const bits = header(bitsAt);
  // The first content byte counts unused bits; the key is what follows.
  return createHash('sha1')
    .update(spki.subarray(bits.start + 1, bits.start + bits.len))
    .digest('hex');
}

interface Signer {
  kid: string;
  key: webcrypto.CryptoKey;
  crypto: webcrypto.Crypto;
}

/**
 * WebCrypto as @peculiar/x509 sees it, except that `sign` runs node:crypto inline with the CA key: WebCrypto
 * signs on the libuv thread pool, a hop that stretched issuance tails on a busy machine. Everything else is
 * the real WebCrypto.
 */
function inlineSigningCrypto(key: KeyObject, alg: 'Ed25519' | 'P-384'): webcrypto.Crypto {
  const subtle = new Proxy(webcrypto.subtle, {
    get(target, prop) {
      if (prop === 'sign') {
        return async (_alg: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> => {
          const bytes = ArrayBuffer.isView(data)
            ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
            : Buffer.from(data);
          const sig =
            alg === 'Ed25519' ? sign(null, bytes, key) : sign('sha384', bytes, { key, dsaEncoding: 'ieee-p1363' });
          return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength) as ArrayBuffer;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    subtle,
    getRandomValues: (a) => webcrypto.getRandomValues(a),
    randomUUID: () => webcrypto.randomUUID(),
  } as webcrypto.Crypto;
}

function renewAt(row: { not_before: number; not_after: number }): number {
  return row.not_before + (row.not_after - row.not_before) / 2;
}

function caRow(cert: X509.X509Certificate, kind: 'root' | 'intermediate', kid: string, now: number): CertRow {
  return {
    serial: cert.serialNumber.toLowerCase(),
    kind,
    agent: null,
    pem: `${cert.toString('pem')}\n`,
    key_id: kid,
    fingerprint: fingerprint(cert.rawData),
    not_before: cert.notBefore.getTime(),
    not_after: cert.notAfter.getTime(),
    issued_at: now,
    revoked_at: null,
  };
}

/** 128-bit positive serial, hex (RFC 5280 allows up to 20 octets; the top bit clear keeps it positive). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex');
}

function fingerprint(der: ArrayBuffer): string {
  return createHash('sha256').update(Buffer.from(der)).digest('hex');
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}
