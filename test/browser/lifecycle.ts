/**
 * Helpers shared by cache.spec.ts and registry.spec.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from '@playwright/test';
import { FIXTURES_DIR } from './helpers';

/**
 * Serves a second version of layers-cnn under /v2/layers-cnn/: the same files with its
 * last bias raised by 1, so its outputs differ. Resolves with its model.json URL.
 */
export async function serveV2(context: BrowserContext): Promise<string> {
  await context.route('**/v2/layers-cnn/**', async (route) => {
    const file = new URL(route.request().url()).pathname.split('/').pop() as string;
    const body = readFileSync(join(FIXTURES_DIR, 'layers-cnn', file));
    if (file.endsWith('shard5of5.bin')) body.writeFloatLE(body.readFloatLE(body.length - 4) + 1, body.length - 4);
    await route.fulfill({ status: 200, body, contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
  });
  return '/v2/layers-cnn/model.json';
}
