/**
 * What the global setup hands to tests through vitest's provide/inject. Declared here, in a
 * module the helpers import, so that `inject(...)` is typed wherever they are used.
 */
import type { DatabaseKind } from '../../src/db/schema.js';

/** Where the suite's server came from (see globalSetup.ts). */
export type ServerOrigin = 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser connection URL on the test server's maintenance database. */
    adminUrl: string;
    /** Where the server came from. */
    serverOrigin: ServerOrigin;
    /** Names of template databases holding sql/'s schema, one per kind. */
    templates: Record<DatabaseKind, string>;
    /** This run's id: every database a test creates is named `slt_<runId>_...`. */
    runId: string;
    /** The server's `server_version_num`, e.g. 150004. */
    serverVersionNum: number;
  }
}
