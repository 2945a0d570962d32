import { storeConformance } from '../../test/support/store-conformance';
import { createMemoryStore } from './memory';

// One store in one process: every handle the suite opens (two instances among them) is the same one.
const shared = createMemoryStore();
storeConformance('memory', async () => shared);
