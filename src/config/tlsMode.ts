/**
 * libpq's `sslmode` (a URI's `?sslmode=` and the PGSSLMODE environment variable) in terms
 * of the configuration's `ssl` key:
 *
 *   disable      no TLS
 *   require      TLS, the server's certificate not verified
 *   verify-ca    TLS, certificate verified (Node also checks the host name, so this is verify-full)
 *   verify-full  TLS, certificate and host name verified
 *
 * `allow` and `prefer` fall back to an unencrypted connection when TLS fails; the driver
 * cannot do that, and a silent downgrade is not what a replicator should do, so they are
 * refused rather than guessed at.
 */

/** false: no TLS; otherwise TLS with or without verification. */
export type TlsMode = false | { rejectUnauthorized: boolean };

export const SSLMODE_PROBLEM =
  'must be disable, require, verify-ca or verify-full (allow and prefer, which may fall back to no encryption, are not supported)';

/** The mode's TLS settings, or undefined for a value that is not a supported sslmode. */
export function tlsFromSslMode(mode: string): TlsMode | undefined {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      return undefined;
  }
}
