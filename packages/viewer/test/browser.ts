/** The browser helpers every package's browser tests share (@gibbs/test-support). */
export * from '@gibbs/test-support/browser';
