import { storeConformance } from './conformance';
import { createMemoryStore } from './memory';

storeConformance('memory', async () => createMemoryStore());
