import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { testConfig } from '../../helpers/config.js';

const registryFor = (handlers: Record<string, unknown>) => HandlerRegistry.fromConfig(testConfig({ handlers }), BUILTIN_PLUGINS);

describe('network and switch handler settings', () => {
  it('the shipped config/amh.yaml routes every service type and Switch, with the reference keys', () => {
    const registry = HandlerRegistry.fromConfig(loadConfig({ env: {} }), BUILTIN_PLUGINS);
    const network = registry.resolve('L2PTP');
    expect(network.name).toBe('network');
    for (const type of ['L2Bridge', 'L2STS', 'FABNetv4', 'FABNetv6', 'FABNetv4Ext', 'FABNetv6Ext', 'L3VPN', 'PortMirror']) {
      expect(registry.resolve(type)).toBe(network);
    }
    expect(network.settings).toMatchObject({
      playbooks: { L2PTP: 'net_create.yml', operation: { delete: 'net_delete.yml', probe: 'net_probe.yml' } },
      cleanup: { ALL: 'net_delete.yml' },
      runtime: { delete_retries: 3 },
      network: { border_routers: expect.any(Array) },
    });
    // The retry policy is the generic `handlers.<h>.retry` (the executor retries whole operations).
    expect(network.retry).toEqual({ attempts: 3, backoff_initial: 2000, backoff_max: 30000 });
    expect(registry.resolve('Switch')).toMatchObject({ name: 'switch', settings: { playbooks: { Switch: 'switch_create.yml' } } });
  });

  it('fills defaults when only the plugin is named', () => {
    const registry = registryFor({ vm: { plugin: 'vm' }, net: { plugin: 'network' }, p4: { plugin: 'switch' } });
    expect(registry.resolve('L3VPN').settings).toMatchObject({ playbooks: { L3VPN: 'net_create.yml' }, cleanup: { ALL: 'net_delete.yml' } });
    expect(registry.resolve('Switch').name).toBe('p4');
  });

  it('names the path of every mistake', () => {
    const mistake = (handlers: Record<string, unknown>) => {
      try {
        registryFor(handlers);
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };
    expect(mistake({ network: { plugin: 'network', retry: { attempts: 0 } } })).toMatch(/`handlers.network.retry.attempts`: /);
    expect(mistake({ network: { plugin: 'network', retry: { backoff_max: 'soon' } } })).toMatch(/`handlers.network.retry.backoff_max`: expected a duration/);
    expect(mistake({ network: { plugin: 'network', network: { border_routers: 'br-1' } } })).toMatch(/`handlers.network.network.border_routers`: expected array/);
    expect(mistake({ network: { plugin: 'network', playbooks: { L2PTPP: 'x.yml' } } })).toMatch(/`handlers.network.playbooks`: unknown key\(s\) `L2PTPP`/);
    expect(mistake({ switch: { plugin: 'switch', p4: { admin_user: '' } } })).toMatch(/`handlers.switch.p4.admin_user`: /);
  });
});
