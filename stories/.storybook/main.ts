import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { StorybookConfig } from "@storybook/react-vite";
import { defaultClientConditions, mergeConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const config: StorybookConfig = {
  stories: ["../src/**/*.stories.@(ts|tsx)"],
  addons: ["@storybook/addon-docs", "msw-storybook-addon"],
  framework: { name: "@storybook/react-vite", options: {} },
  // `msw init` creates public/ (the service worker) before `storybook dev` and `build`; the story
  // tests serve the worker themselves and run without it.
  staticDirs: existsSync(new URL("../public", import.meta.url)) ? ["../public"] : [],
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  // The components' playground, not a first Storybook: no onboarding checklist or guide.
  features: { sidebarOnboardingChecklist: false, menuOnboardingChecklist: false },
  typescript: {
    // Props tables from the components' own TypeScript types and JSDoc (the DOM attributes they
    // pass through are left out), read with a project that includes @mecha/react's source.
    reactDocgen: "react-docgen-typescript",
    reactDocgenTypescriptOptions: {
      tsconfigPath: here("../tsconfig.docgen.json"),
      include: [here("../src/**/*.tsx"), here("../../packages/react/src/**/*.tsx")],
      exclude: ["**/*.test.tsx"],
      shouldExtractLiteralValuesFromEnum: true,
      shouldRemoveUndefinedFromOptional: true,
      propFilter: (prop) => !prop.parent || !/node_modules/.test(prop.parent.fileName),
    },
  },
  // Stories run on the packages' source (the `@mecha/source` export condition): no build needed.
  viteFinal: (viteConfig) =>
    mergeConfig(viteConfig, {
      resolve: { conditions: ["@mecha/source", ...defaultClientConditions] },
      build: {
        // Storybook's own preview runtime and docs renderer come prebundled, as single modules of
        // about 1.1 MB each; the components' code is far below 500 kB (CodeMirror and the Pyodide
        // glue are chunks of their own, loaded when needed).
        chunkSizeWarningLimit: 1200,
        rolldownOptions: {
          // React libraries mark client modules with "use client", which means nothing here.
          onwarn(warning: { code?: string }, warn: (warning: unknown) => void) {
            if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
            warn(warning);
          },
          // Docgen for the props tables takes most of the build's time, by design.
          checks: { pluginTimings: false },
        },
      },
    }),
};

export default config;
