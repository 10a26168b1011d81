// Types of infra/hooks/error.response.mjs for test/infra.
export declare function describeErrorResponse(response: Response): Promise<string>;
