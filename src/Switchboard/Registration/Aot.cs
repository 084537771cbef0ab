namespace Switchboard;

/// <summary>The messages of the trimming and Native AOT annotations.</summary>
internal static class Aot
{
    public const string ReflectionRegistration =
        "Registers class handlers by reflection (their handler interfaces, constructors and generic invokers), which trimming and Native AOT may not keep. " +
        "Use AddGeneratedHandlers() from the Switchboard source generator, or delegate handlers with Handle<T>(...).";
}
