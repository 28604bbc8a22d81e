export declare function isEntryPoint(moduleUrl: string): boolean;
export declare function runMain(name: string, main: (argv: string[]) => Promise<number>): Promise<void>;
export declare function launch(name: string, target: URL): Promise<void>;
