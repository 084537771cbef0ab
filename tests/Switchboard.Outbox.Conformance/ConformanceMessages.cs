namespace Switchboard.Outbox.Conformance;

public sealed record OcOrderPlaced(string Id);
public sealed record OcKeyed(string Key, int Seq);
public sealed record OcFlaky(string Id);
public sealed record OcCascadeStart(string Id);
public sealed record OcCascaded(string Id);
public sealed record OcShipOrder(string Id);
