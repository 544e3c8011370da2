"use client";

import type { MechaClient } from "./internal/clientTypes";
import { useMechaContext } from "./internal/MechaContext";

/** The client from the nearest `<MechaProvider>`. */
export function useMechaClient(): MechaClient {
  return useMechaContext("useMechaClient").client;
}
