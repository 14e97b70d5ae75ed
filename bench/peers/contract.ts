/**
 * Compiled by bench/tsconfig.json only (the root typecheck leaves bench/peers/ out): fails there if
 * a peer's exports no longer match `PeerModules`, the types bench/tools.ts loads the peers with.
 * Nothing imports this file at run time.
 */
import type { PeerModules } from '../tools';
import * as knex from './knex';
import * as nodePgMigrate from './node-pg-migrate';
import * as typeorm from './typeorm';
import * as umzug from './umzug';

export const peerModules = { knex, typeorm, umzug, 'node-pg-migrate': nodePgMigrate } satisfies PeerModules;
