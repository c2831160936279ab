/**
 * The resolved configuration as `--dry-run` prints it: indented JSON, so a person can read
 * it and a CI script can pipe it to `jq`. Every password is masked; keys without a value
 * (no user, no password) are left out, as JSON has no `undefined`.
 */
import { maskSecrets } from '../log.js';
import type { ReplicatorConfig } from '../types.js';

export function describeConfig(config: ReplicatorConfig): string {
  return `${JSON.stringify(maskSecrets(config), null, 2)}\n`;
}
