namespace Switchboard.Transport.Conformance;

public sealed record CfOrderPlaced(string Id);
public sealed record CfQuote(string Sku) : IRequest<CfQuoted>;
public sealed record CfQuoted(string Sku, long Cents);
public sealed record CfBlob(string Data);
public sealed record CfAccountChanged(string Account, int Sequence) : DomainEvent;
