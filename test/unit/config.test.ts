import { loadPipelineConfig } from '../../activities/pipeline-config';
import { resolve } from 'node:path';
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

  it('puts the pipeline folders under STEPWISE_DATA_DIR by default, with the documented limits', () => {
    const c = loadPipelineConfig({ STEPWISE_DATA_DIR: '/srv/stepwise' });
    expect(c).toEqual({
      importRoot: '/srv/stepwise/imports',
      importMaxFileBytes: 50 * 1024 * 1024,
      indexDbPath: '/srv/stepwise/index.sqlite',
      workDir: '/srv/stepwise/work',
      datasetRoot: '/srv/stepwise/datasets',
      download: {
        maxBytes: 20 * 1024 * 1024,
        concurrency: 4,
        attempts: 3,
        timeoutMs: 30_000,
        contentTypes: ['image/*', 'application/octet-stream'],
        allowHosts: [],
        allowPrivate: false,
        maxRedirects: 5,
      },
      imageMaxPixels: 100_000_000,
    });
  });

  it('takes every pipeline variable, resolving relative folders', () => {
    const c = loadPipelineConfig({
      STEPWISE_IMPORT_ROOT: 'in',
      STEPWISE_IMPORT_MAX_FILE_BYTES: '1000',
      STEPWISE_INDEX_DB_PATH: '/db/i.sqlite',
      STEPWISE_WORK_DIR: '/scratch',
      STEPWISE_DATASET_ROOT: '/sets',
      STEPWISE_DOWNLOAD_MAX_BYTES: '2000',
      STEPWISE_DOWNLOAD_CONCURRENCY: '8',
      STEPWISE_DOWNLOAD_ATTEMPTS: '5',
      STEPWISE_DOWNLOAD_TIMEOUT_MS: '1500',
      STEPWISE_DOWNLOAD_CONTENT_TYPES: 'image/png, IMAGE/JPEG',
      STEPWISE_IMAGE_MAX_PIXELS: '640000',
      STEPWISE_DOWNLOAD_ALLOW_HOSTS: 'Images.Example.com, *.cdn.example.net',
      STEPWISE_DOWNLOAD_ALLOW_PRIVATE: 'true',
      STEPWISE_DOWNLOAD_MAX_REDIRECTS: '2',
    });
    expect(c).toEqual({
      importRoot: resolve('in'),
      importMaxFileBytes: 1000,
      indexDbPath: '/db/i.sqlite',
      workDir: '/scratch',
      datasetRoot: '/sets',
      download: {
        maxBytes: 2000,
        concurrency: 8,
        attempts: 5,
        timeoutMs: 1500,
        contentTypes: ['image/png', 'image/jpeg'],
        allowHosts: ['images.example.com', '*.cdn.example.net'],
        allowPrivate: true,
        maxRedirects: 2,
      },
      imageMaxPixels: 640000,
    });
    expect(() => loadPipelineConfig({ STEPWISE_DOWNLOAD_CONCURRENCY: '0' })).toThrow(
      /STEPWISE_DOWNLOAD_CONCURRENCY:/,
    );
    expect(() => loadPipelineConfig({ STEPWISE_IMPORT_MAX_FILE_BYTES: 'big' })).toThrow(
      /STEPWISE_IMPORT_MAX_FILE_BYTES:/,
    );
  });
});
