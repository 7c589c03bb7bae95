// Live queue (SSE): written by the live-queue helper. Placeholder so the page's script tag resolves.
