// Lint rules for the whole workspace. The module-boundary rule makes the architecture's
// dependency direction an error rather than a hope:
//   abi -> proto -> platform -> gofer, netstack -> sentry -> runsc
// netstack and gofer never import sentry, and only platform may depend on the native addon.
import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

const scopes = {
  "scope:abi": [],
  "scope:proto": ["scope:abi"],
  "scope:platform": ["scope:abi", "scope:proto", "scope:native"],
  "scope:gofer": ["scope:abi", "scope:proto", "scope:platform"],
  "scope:netstack": ["scope:abi", "scope:proto", "scope:platform"],
  "scope:sentry": ["scope:abi", "scope:proto", "scope:platform"],
  "scope:runsc": ["scope:abi", "scope:proto", "scope:platform", "scope:gofer", "scope:netstack", "scope:sentry"],
  "scope:e2e": ["scope:abi", "scope:proto", "scope:platform", "scope:gofer", "scope:netstack", "scope:sentry", "scope:runsc"],
};

const loadsNative = {
  selector:
    "CallExpression[callee.object.name='process'][callee.property.name='dlopen'], CallExpression[callee.name='require'][arguments.0.value=/\\.node$/]",
  message: "Only packages/platform/src/native.ts loads native code.",
};

export default tseslint.config(
  { ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "**/*.js", "**/*.cjs", "**/*.mjs", "packages/proto/src/gen/**", "**/vitest.config.ts", "vitest.shared.ts"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommended],
    plugins: { "@nx": nx },
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: Object.entries(scopes).map(([sourceTag, onlyDependOnLibsWithTags]) => ({
            sourceTag,
            onlyDependOnLibsWithTags,
          })),
        },
      ],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": ["error", loadsNative],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["capnp-es", "capnp-es/*"], message: "Only packages/proto imports capnp-es; use its exports." }] },
      ],
    },
  },
  {
    files: ["packages/proto/src/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["packages/platform/src/native.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
