// slate-replicator configuration (CommonJS, the format of the legacy tool's config.js).
//
// Check it without touching any database:   slate-replicator -c config.js --dry-run
// Run the replicator:                       slate-replicator -c config.js
//
// Passwords are read from the environment so that this file can be committed and shared;
// a key whose environment variable is unset is simply left without a password (then
// PostgreSQL's trust/peer authentication or a ~/.pgpass file applies).

module.exports = {
  // Most rows one destination write transaction adds. Integer 1..1000000, default 10000.
  // A single source transaction larger than this is still copied whole, in one destination
  // transaction. (The legacy tool raised anything below 10000 to 10000; this one does not.)
  maxEventsPerWrite: 10000,

  // How long to wait for a database connection, in milliseconds. Default 15000.
  connectTimeout: 15000,

  // Milliseconds between safety catch-ups that run even when no notification arrives, so a
  // lost notification delays a row by at most this long. At least 100, default 5000.
  pollIntervalMs: 5000,

  // The source database: the one the application writes events to (required).
  eventSource: {
    host: 'localhost', // host name or IP address (required)
    port: 5432, // TCP port, default 5432
    databaseName: 'sourceDb', // database holding the events table (required)
    user: 'user1', // role to log in as (optional)
    password: process.env.SLATE_SOURCE_PASSWORD, // optional; never write it here
  },

  // The databases kept identical to the source: at least one. Each must be a different
  // database from the source and from each other (same host, ignoring case, same port and
  // same databaseName means the same database).
  replicationDestinations: [
    {
      host: 'localhost',
      port: 5432,
      databaseName: 'replicationDb1',
      user: 'user1',
      password: process.env.SLATE_DESTINATION1_PASSWORD,
    },
    {
      host: 'localhost',
      port: 5432,
      databaseName: 'replicationDb2',
      user: 'user1',
      password: process.env.SLATE_DESTINATION2_PASSWORD,
    },
  ],
};
