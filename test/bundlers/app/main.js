import { createRuntime } from 'inpage';
import { run } from './app.js';

run(createRuntime);
