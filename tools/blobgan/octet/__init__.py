"""OCTET's workflow on a trained BlobGAN (Zemni et al., CVPR 2023; BlobGANEX): training the inversion encoder,
inverting images into blobs and optimising counterfactual layouts. Used by the tools beside this package
(pretrain_encoder, train_encoder, invert, counterfactuals); the networks themselves live in models/blobgan/."""
