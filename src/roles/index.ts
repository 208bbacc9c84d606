import type { PartyType } from '../protocol/party.js';
import type { RoleStarter } from './context.js';

/** Role modules are loaded on demand so that the hook and the operator's command stay light. */
export async function roleStarter(type: PartyType): Promise<RoleStarter> {
  switch (type) {
    case 'arbitrator':
      return (await import('./arbitrator/daemon.js')).startArbitrator;
    case 'dbserver':
      return (await import('./dbserver/daemon.js')).startDbserver;
    case 'dbclient':
      return (await import('./dbclient/daemon.js')).startDbclient;
    default:
      throw new Error(`${type} is not a long-lived role: it has no daemon`);
  }
}
