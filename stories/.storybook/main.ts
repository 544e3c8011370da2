import { existsSync } from "node:fs";
import type { StorybookConfig } from "@storybook/react-vite";
import { defaultClientConditions, mergeConfig } from "vite";

const config: StorybookConfig = {
  stories: ["../src/**/*.stories.@(ts|tsx)"],
  addons: ["msw-storybook-addon"],
  framework: { name: "@storybook/react-vite", options: {} },
  // `msw init` creates public/ (the service worker) before `storybook dev` and `build`; the story
  // tests serve the worker themselves and run without it.
  staticDirs: existsSync(new URL("../public", import.meta.url)) ? ["../public"] : [],
  core: { disableTelemetry: true },
  // Stories run on the packages' source (the `@mecha/source` export condition): no build needed.
  viteFinal: (viteConfig) =>
    mergeConfig(viteConfig, {
      resolve: { conditions: ["@mecha/source", ...defaultClientConditions] },
    }),
};

export default config;
