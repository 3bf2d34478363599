// The live state of one development IdP: its fixtures (users can be disabled at run time), signing
// keys and storage. The provider configuration and the admin endpoints both read it.
import type {
  DevIdpClient,
  DevIdpFixtures,
  DevIdpResource,
  DevIdpUser,
} from '../fixtures/types.js';
import type { KeyRing } from './keys.js';
import type { MemoryStore } from './storage.js';

/** A fixture resource together with its name. */
export interface NamedResource extends DevIdpResource {
  name: string;
}

/** Everything the provider configuration needs to answer at run time. */
export class DevIdpState {
  readonly issuer: string;
  readonly fixtures: DevIdpFixtures;
  readonly keys: KeyRing;
  readonly store: MemoryStore;
  readonly cookieKeys: string[];

  constructor(init: {
    issuer: string;
    fixtures: DevIdpFixtures;
    keys: KeyRing;
    store: MemoryStore;
    cookieKeys: string[];
  }) {
    this.issuer = init.issuer;
    this.fixtures = init.fixtures;
    this.keys = init.keys;
    this.store = init.store;
    this.cookieKeys = init.cookieKeys;
  }

  /** The user with this id if it exists and is enabled. */
  activeUser(id: string): DevIdpUser | undefined {
    const user = Object.hasOwn(this.fixtures.users, id) ? this.fixtures.users[id] : undefined;
    return user && !user.disabled ? user : undefined;
  }

  /** The client fixture with this id. */
  client(id: string): DevIdpClient | undefined {
    return Object.hasOwn(this.fixtures.clients, id) ? this.fixtures.clients[id] : undefined;
  }

  /** The resource whose URL is exactly `url`. */
  resourceByUrl(url: string): NamedResource | undefined {
    for (const [name, resource] of Object.entries(this.fixtures.resources)) {
      if (resource.url === url) return { ...resource, name };
    }
    return undefined;
  }

  /** The resource with this fixture name. */
  resourceByName(name: string): NamedResource | undefined {
    const resource = Object.hasOwn(this.fixtures.resources, name)
      ? this.fixtures.resources[name]
      : undefined;
    return resource ? { ...resource, name } : undefined;
  }

  /** URLs of the resources a client owns (tokens for them are what it may exchange or introspect). */
  ownedUrls(clientId: string): string[] {
    return (this.client(clientId)?.owns ?? [])
      .map((name) => this.resourceByName(name)?.url)
      .filter((url): url is string => url !== undefined);
  }
}
