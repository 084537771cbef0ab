using Switchboard.Routing;

namespace Switchboard.Tests.Routing;

public sealed class ObjectHeaderTests
{
    public sealed record Plain(int N);

    public record Base(int N);

    public sealed record Derived(int N) : Base(N);

    public readonly record struct Value(int N);

    public static TheoryData<object> Instances => new()
    {
        new Plain(1),
        new Base(1),
        new Derived(1),
        new Value(1),
        "text",
        42,
        new int[3],
        new string[2],
        new List<Plain>(),
        new Dictionary<string, Base>(),
        new object(),
    };

    [Theory]
    [MemberData(nameof(Instances))]
    public void TypeHandle_OfAnyInstance_IsItsRuntimeTypesHandle(object instance)
        => Assert.Equal(instance.GetType().TypeHandle.Value, ObjectHeader.TypeHandle(instance));

    [Fact]
    public void TypeHandle_AcrossGarbageCollections_StaysTheTypesHandle()
    {
        object[] instances = [.. Enumerable.Range(0, 1_000).Select(i => i % 2 == 0 ? (object)new Plain(i) : new Derived(i))];
        for (int round = 0; round < 5; round++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            foreach (object instance in instances)
            {
                Assert.Equal(instance.GetType().TypeHandle.Value, ObjectHeader.TypeHandle(instance));
            }
        }
    }
}
