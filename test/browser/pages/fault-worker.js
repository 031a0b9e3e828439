// A worker entry for fault tests: the hooks first, then inpage's own worker bundle as is.
import './fault-hooks.js';
import '/dist/inpage.worker.js';
