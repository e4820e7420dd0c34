/** Connection options for the client and the worker, from configuration. */
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConnectionConfig } from './config';

function tlsOptions(cfg: TemporalConnectionConfig): ConnectionOptions['tls'] {
  if (!cfg.tls) return undefined;
  return {
    serverNameOverride: cfg.tlsServerName,
    serverRootCACertificate: cfg.tlsCaPath ? readFileSync(cfg.tlsCaPath) : undefined,
    clientCertPair:
      cfg.tlsCertPath && cfg.tlsKeyPath
        ? { crt: readFileSync(cfg.tlsCertPath), key: readFileSync(cfg.tlsKeyPath) }
        : undefined,
  };
}

export function clientConnectionOptions(cfg: TemporalConnectionConfig): ConnectionOptions {
  return { address: cfg.address, tls: tlsOptions(cfg), apiKey: cfg.apiKey, connectTimeout: 10_000 };
}

export function workerConnectionOptions(cfg: TemporalConnectionConfig): NativeConnectionOptions {
  return { address: cfg.address, tls: tlsOptions(cfg), apiKey: cfg.apiKey };
}

export async function connectClient(cfg: TemporalConnectionConfig): Promise<Client> {
  const connection = await Connection.connect(clientConnectionOptions(cfg));
  return new Client({ connection, namespace: cfg.namespace });
}
