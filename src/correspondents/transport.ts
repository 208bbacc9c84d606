export interface Address {
  address: string;
  port: number;
}

/** Datagrams in and out; the real one is dgram, the simulated one is MemoryNetwork. */
export interface Transport {
  readonly local: Address;
  send(buf: Uint8Array, to: Address): void;
  onReceive(handler: (buf: Buffer, from: Address) => void): void;
  close(): Promise<void>;
}
