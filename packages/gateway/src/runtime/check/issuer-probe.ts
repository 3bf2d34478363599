/**
 * What `mcp-iam check` reports about one issuer: its metadata (which issuer the document names,
 * and why it could not be read), its key set as the verifier loaded it, the `typ` its tokens carry
 * when the IdP is recognisable, and its introspection client.
 */
import { discoverIssuer, type IssuerMetadata, type IssuerState } from '@mcp-iam/core';
import { describeIssuerError, type IssuerConfig } from '../../config/index.js';
import { probeIntrospection } from './client-probes.js';
import { finding, type CheckFinding } from './report.js';
import { tokenTypeFinding } from './token-types.js';

/** The issuer's metadata, or the finding that says why there is none. */
async function probeMetadata(
  issuer: IssuerConfig,
  index: number,
  timeoutMs: number,
): Promise<{ metadata?: IssuerMetadata; finding: CheckFinding }> {
  const subject = `issuer ${issuer.issuer}: metadata`;
  try {
    const metadata = await discoverIssuer(issuer.issuer, {
      timeoutMs,
      allowInsecureLoopbackHttp: issuer.allow_insecure_loopback_http ?? false,
    });
    return { metadata, finding: finding('ok', subject, `${metadata.url} names this issuer`) };
  } catch (error) {
    const detail = describeIssuerError(error, index);
    // The verifier needs the metadata only to find the key set.
    if (issuer.jwks_uri !== undefined) {
      return {
        finding: finding('warn', subject, `${detail} (keys come from issuers[${index}].jwks_uri)`),
      };
    }
    if (issuer.format === 'opaque') {
      return { finding: finding('warn', subject, `${detail} (tokens are introspected)`) };
    }
    return { finding: finding('fail', subject, detail) };
  }
}

function keySetFinding(subject: string, state: IssuerState): CheckFinding | undefined {
  const keySet = state.keySet;
  if (!keySet) return undefined;
  if (!keySet.usable) {
    return finding('fail', subject, `not loaded: ${keySet.lastError ?? 'unknown error'}`);
  }
  if (keySet.keyCount === 0) {
    return finding(
      'fail',
      subject,
      'loaded, but it has no key usable with the configured algorithms',
    );
  }
  return finding('ok', subject, `${keySet.keyCount} usable key(s)`);
}

/**
 * Every finding about the issuer at `index`. `state` is the verifier's view after `start()`. A key
 * set that needed the metadata is not reported when the metadata already failed (same cause).
 */
export async function probeIssuer(
  issuer: IssuerConfig,
  index: number,
  state: IssuerState | undefined,
  timeoutMs: number,
): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  const subject = `issuer ${issuer.issuer}`;
  const { metadata, finding: metadataFinding } = await probeMetadata(issuer, index, timeoutMs);
  findings.push(metadataFinding);
  if (state && (metadata !== undefined || issuer.jwks_uri !== undefined)) {
    const keys = keySetFinding(`${subject}: key set`, state);
    if (keys) findings.push(keys);
  }
  const types = tokenTypeFinding(issuer, index, metadata);
  if (types) findings.push(types);
  if (issuer.introspection) findings.push(await probeIntrospection(issuer, index, timeoutMs));
  return findings;
}
