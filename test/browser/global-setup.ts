// Starts the static server for the browser tests on a free port (INPAGE_TEST_PORT pins
// one) and hands its URL to the test workers through the environment. A free port means
// two suites on one machine never share, or stop, each other's server.
// @ts-ignore: plain ESM script without type declarations
import { startServer } from '../../scripts/serve.mjs';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const srv = await startServer({ port: Number(process.env.INPAGE_TEST_PORT ?? 0) });
  process.env.INPAGE_TEST_URL = srv.url;
  return () => srv.close();
}
