import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('defaults to the embedded dev server on the documented ports', () => {
    const c = loadConfig({});
    expect(c.embeddedDevServer).toBe(true);
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.env.PORT).toBe(3000);
    expect(c.env.TEMPORAL_UI_PORT).toBe(8233);
    expect(c.temporal.taskQueue).toBe('stepwise');
  });

  it('uses TEMPORAL_ADDRESS and turns TLS on for an API key', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_API_KEY: 'k',
      TEMPORAL_NAMESPACE: 'prod',
    });
    expect(c.embeddedDevServer).toBe(false);
    expect(c.temporal).toMatchObject({
      address: 'temporal.example:7233',
      namespace: 'prod',
      tls: true,
      apiKey: 'k',
    });
  });

  it('fails fast naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', TEMPORAL_ADDRESS: 'nohostport', TEMPORAL_TLS: 'maybe' })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ PORT: 'abc', TEMPORAL_ADDRESS: 'nohostport' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT:/);
      expect((err as Error).message).toMatch(/TEMPORAL_ADDRESS: must be host:port/);
    }
  });

  it('requires TLS cert and key together', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: '/x.pem' })).toThrow(/must be set together/);
  });
});
