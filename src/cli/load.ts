import { type Bootstrap, loadBootstrapFile } from '../site/bootstrap.js';
import { ConfigError, loadSiteConfigFile } from '../site/load-config.js';
import type { SiteConfig } from '../site/schema.js';
import { CliError, EXIT } from './exit-codes.js';

/**
 * Reading the site config and the bootstrap file, with one-line errors for the operator. Apart
 * from run.ts so that `minder command` and `minder config` load no daemon modules (SQLite,
 * mysql2, the roles) just to read a file.
 */

export function explainConfigError(err: unknown): never {
  if (err instanceof ConfigError) throw new CliError(EXIT.USAGE, err.problems.map((p) => `${err.source}: ${p}`).join('\n'));
  throw err;
}

/** Everything that can be wrong before a daemon starts is checked here, and nothing is started if it is. */
export function loadOrExplain(path: string): SiteConfig {
  try {
    return loadSiteConfigFile(path);
  } catch (err) {
    return explainConfigError(err);
  }
}

export function loadBootstrapOrExplain(path: string): Bootstrap {
  try {
    return loadBootstrapFile(path);
  } catch (err) {
    return explainConfigError(err);
  }
}
