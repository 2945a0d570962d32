import { storeConformance } from '../../test/support/store-conformance';
import { createMemoryStore } from './memory';

storeConformance('memory', async () => createMemoryStore());
