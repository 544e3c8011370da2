import { Controls, Description, Primary, Subtitle, Title } from "@storybook/addon-docs/blocks";
import type { Preview } from "@storybook/react-vite";
import { mswLoader } from "msw-storybook-addon/csf3";
import "@mecha/react/styles.css";

const preview: Preview = {
  tags: ["autodocs"],
  loaders: [mswLoader()],
  parameters: {
    layout: "padded",
    controls: { expanded: true },
    docs: {
      // One live example and the props table: the stories' msw handlers answer one story at a
      // time, so a page showing every story at once would show most of them wrongly.
      page: () => (
        <>
          <Title />
          <Subtitle />
          <Description />
          <Primary />
          <Controls />
        </>
      ),
    },
  },
  globalTypes: {
    theme: {
      description: "Colour theme of the Mecha components",
      toolbar: {
        title: "Theme",
        icon: "mirror",
        items: [
          { value: "system", title: "System" },
          { value: "light", title: "Light" },
          { value: "dark", title: "Dark" },
        ],
        dynamicTitle: true,
      },
    },
  },
  initialGlobals: { theme: "system" },
  decorators: [
    (Story, context) => {
      const theme = context.globals.theme as string;
      return (
        <div
          className={
            theme === "dark"
              ? "mecha-theme-dark"
              : theme === "light"
                ? "mecha-theme-light"
                : undefined
          }
          style={{
            maxWidth: 880,
            padding: 16,
            background: theme === "dark" ? "#0d1117" : undefined,
          }}
        >
          <Story />
        </div>
      );
    },
  ],
};

export default preview;
