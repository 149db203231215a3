import Foundation
import Testing
@testable import FlockTensor

/// Known-answer vectors for the generator whose state checkpoints save: a change to its
/// arithmetic would silently change every seeded run and every resumed one.
///
/// Expected values come from the reference C code of Blackman & Vigna (xoshiro256**.c
/// and splitmix64.c, prng.di.unimi.it), compiled and run outside this project; the
/// SplitMix64 sequence for seed 1234567 is also the one Rosetta Code publishes.
@Suite struct RandomGeneratorTests {
    @Test func xoshiro256StarStarMatchesTheReferenceFromState1234() {
        var generator = RandomGenerator(state: [1, 2, 3, 4])
        let outputs = (0..<8).map { _ in generator.next() }
        #expect(outputs == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360,
                            607_988_272_756_665_600, 16_172_922_978_634_559_625, 8_476_171_486_693_032_832])
        #expect(generator.state == [15_012_982_489_117_819_719, 6_951_394_054_564_118_848,
                                    16_156_672_553_958_736_067, 3_467_857_539_834_773_921])
    }

    @Test func seedingIsSplitMix64OfTheSeed() {
        // Stream 0 starts SplitMix64 at the seed itself: the state is its first four outputs.
        #expect(RandomGenerator(seed: 1_234_567).state == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973,
                                                            9_817_491_932_198_370_423, 4_593_380_528_125_082_431])
    }

    @Test func streamsStartSplitMix64AtSeedPlusStreamTimesTheStreamConstant() {
        // SplitMix64 from 42 + 3 · 0xD1B54A32D192ED03 (mod 2^64), then xoshiro256**.
        var generator = RandomGenerator(seed: 42, stream: 3)
        #expect(generator.state == [14_441_514_629_725_013_063, 10_147_698_888_343_316_186,
                                    1_358_189_616_387_779_455, 1_691_801_666_935_516_500])
        #expect((0..<4).map { _ in generator.next() } == [11_460_371_345_641_712_736, 8_153_369_745_215_610_895,
                                                          16_876_104_677_238_517_697, 15_370_729_407_951_737_957])
    }

    @Test func savedStateContinuesTheSameSequence() throws {
        var generator = RandomGenerator(state: [1, 2, 3, 4])
        _ = generator.next()
        let saved = try JSONEncoder().encode(generator)
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: saved)
        // The reference sequence from state {1, 2, 3, 4}, after its first output.
        #expect((0..<3).map { _ in restored.next() } == [0, 1_509_978_240, 1_215_971_899_390_074_240])
    }
}
