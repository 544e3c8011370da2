import type { Spawner } from "../../src/runtime/options";

export declare const spawnUnderSimulatedDarwin: Spawner;
