export type {
  PythonToolImage,
  PythonToolInput,
  PythonToolOptions,
  PythonToolOutput,
} from "./pythonTool";
export { pythonTool } from "./pythonTool";
export type { PythonToolModelOutput } from "./toModelText";
export { toModelText } from "./toModelText";
