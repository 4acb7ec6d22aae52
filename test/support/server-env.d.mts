// Types of server-env.mjs, for the TypeScript tests.
export declare function isServerVariable(name: string): boolean;
export declare function serverEnv(extra?: Record<string, string | undefined>, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
