"""The video's lines are in the lessons: a learner pausing the video finds them in the file, in
the video's order, and the training lessons' loops hold the video's code and nothing else.

The lines are compared without whitespace, so a line wrapped as the video wraps it still counts.
"""

from __future__ import annotations

import ast
import re
import tokenize

import pytest

from tudui.paths import lesson_files, lesson_path

# lesson -> the course's lines (from xiaotudui/pytorch-tutorial's src/), in the video's order
VIDEO_LINES = {
    "06_read_data": [
        "class MyData(Dataset):",
        "self.img_path = os.listdir(self.path)",
        "img = Image.open(img_item_path)",
        "self.image_list.sort()",
        "train_dataset = ants_dataset + bees_dataset",
        "writer = SummaryWriter(",
        "dataloader = DataLoader(train_dataset, batch_size=1, num_workers=2)",
        "writer.add_image('error', train_dataset[",
        "writer.close()",
    ],
    "08_tensorboard": [
        "writer = SummaryWriter(",
        "img_PIL = Image.open(image_path)",
        "img_array = np.array(img_PIL)",
        "writer.add_image(\"train\", img_array, 1, dataformats='HWC')",
        "for i in range(SCALAR_STEPS):",
        "writer.add_scalar(\"y=2x\", 3*i, i)",
    ],
    "10_transforms": [
        "tensor_trans = transforms.ToTensor()",
        "tensor_img = tensor_trans(img)",
        "writer.add_image(\"Tensor_img\", tensor_img)",
    ],
    "12_useful_transforms": [
        "trans_totensor = transforms.ToTensor()",
        "trans_norm = transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])",
        "trans_resize = transforms.Resize((512, 512))",
        "trans_compose = transforms.Compose([trans_resize_2, trans_totensor])",
    ],
    "14_dataset_transform": [
        "dataset_transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor()])",
        "train_set = CIFAR10(root=args.data_root, train=True, transform=dataset_transform, "
        "download=True)",
        "writer.add_image(\"test_set\", img, i)",
    ],
    "15_dataloader": [
        "test_data = CIFAR10(args.data_root, train=False, "
        "transform=torchvision.transforms.ToTensor())",
        "test_loader = DataLoader(dataset=test_data, batch_size=",
        "writer.add_images(f\"Epoch: {epoch}\", imgs, step)",
    ],
    "16_nn_module": ["class Tudui(nn.Module):", "output = input + 1", "x = torch.tensor(1.0)"],
    "17_conv": [
        "input = torch.reshape(input, (1, 1, 5, 5))",
        "output = F.conv2d(input, kernel, stride=1)",
        "output2 = F.conv2d(input, kernel, stride=2)",
        "output3 = F.conv2d(input, kernel, stride=1, padding=1)",
    ],
    "18_nn_conv2d": [
        "self.conv1 = Conv2d(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=0)",
        "writer.add_images(\"input\", imgs, step)",
        "output = torch.reshape(output, (-1, 3, 30, 30))",
    ],
    "19_nn_maxpool": ["self.maxpool1 = MaxPool2d(kernel_size=3, ceil_mode=",
                      "writer.add_images(\"output\", output, step)"],
    "20_nn_relu": ["self.relu1 = ReLU()", "self.sigmoid1 = Sigmoid()"],
    "21_nn_linear": ["self.linear1 = Linear(196608, 10)", "output = torch.flatten("],
    "22_nn_seq": ["self.model1 = Sequential(", "Linear(1024, 64)", "writer.add_graph(tudui, input)"],
    "23_nn_loss": [
        "class Tudui(nn.Module):",  # nn_loss_network.py's, with self.model1; above main() here
        "self.model1 = Sequential(",
        "x = self.model1(x)",
        "loss = L1Loss(reduction=\"sum\")",
        "loss_cross = nn.CrossEntropyLoss()",
        "dataloader = DataLoader(dataset, batch_size=1)",
        "loss = nn.CrossEntropyLoss()",
        "result_loss.backward()",
    ],
    "24_nn_optim": [
        "class Tudui(nn.Module):",  # nn_optim.py, with self.model1
        "self.model1 = Sequential(",
        "dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)",
        "optim = torch.optim.SGD(tudui.parameters(), lr=",
        "running_loss = 0.0",
        "optim.zero_grad()",
        "result_loss.backward()",
        "optim.step()",
    ],
    "25_model_pretrained": [
        "vgg16_false = torchvision.models.vgg16(weights=None)",
        "print(vgg16_true)",
        "vgg16_true.classifier.add_module('add_linear', nn.Linear(1000, 10))",
        "vgg16_false.classifier[6] = nn.Linear(4096, 10)",
    ],
    "26_model_save": [
        "class Tudui(nn.Module):",
        "self.conv1 = nn.Conv2d(3, 64, kernel_size=3)",
        "torch.save(vgg16, f)",
        "torch.save(vgg16.state_dict(), f)",
        "tudui = Tudui()",
        "torch.save(tudui, f)",
    ],
    "26_model_load": [
        "vgg16 = torchvision.models.vgg16(weights=None)",
        "vgg16.load_state_dict(torch.load(",
        "torch.serialization.safe_globals(",
        "model = torch.load(trap_file, weights_only=True)",
    ],
    "27_train": [
        "train_data = CIFAR10(root=args.data_root, train=True, "
        "transform=torchvision.transforms.ToTensor(), download=True)",
        "test_data = CIFAR10(root=args.data_root, train=False, "
        "transform=torchvision.transforms.ToTensor(), download=True)",
        "train_data_size = len(train_data)",
        "train_dataloader = FastDataLoader(train_data, batch_size=",
        "test_dataloader = FastDataLoader(test_data, batch_size=",
        "tudui = Tudui()",
        "loss_fn = nn.CrossEntropyLoss()",
        "optimizer = torch.optim.SGD(tudui.parameters(), lr=learning_rate)",
        "total_train_step = 0",
        "total_test_step = 0",
        "writer = SummaryWriter(",
        "tudui.train()",
        "for data in train_dataloader: imgs, targets = data outputs = tudui(imgs) "
        "loss = loss_fn(outputs, targets)",
        "optimizer.zero_grad() loss.backward() optimizer.step()",
        "total_train_step = total_train_step + 1",
        "writer.add_scalar(\"train_loss\", loss.item(), total_train_step)",
        "tudui.eval()",
        "for data in test_dataloader: imgs, targets = data outputs = tudui(imgs) "
        "loss = loss_fn(outputs, targets) total_test_loss = total_test_loss + loss.item() "
        "accuracy = (outputs.argmax(1) == targets).sum() "
        "total_accuracy = total_accuracy + accuracy",
        "writer.add_scalar(\"test_loss\", total_test_loss, total_test_step)",
        "total_test_step = total_test_step + 1",
        "torch.save(tudui.state_dict(), f)",
        "writer.close()",
    ],
    "30_train_gpu": [
        "class Tudui(nn.Module):",  # train_gpu_1.py / train_gpu_2.py write the class out
        "self.model = nn.Sequential(",
        "x = self.model(x)",
        "train_data = CIFAR10(root=args.data_root, train=True, "
        "transform=torchvision.transforms.ToTensor(), download=True)",
        "train_dataloader = FastDataLoader(train_data, batch_size=",
        "tudui = Tudui()",
        "if torch.cuda.is_available(): tudui = tudui.cuda()",
        "tudui = tudui.to(device)",
        "loss_fn = nn.CrossEntropyLoss()",
        "if torch.cuda.is_available(): loss_fn = loss_fn.cuda()",
        "loss_fn = loss_fn.to(device)",
        "for i in range(epoch):",
        "for data in train_dataloader: imgs, targets = data",
        "if torch.cuda.is_available(): imgs = imgs.cuda() targets = targets.cuda()",
        "imgs = imgs.to(device) targets = targets.to(device) outputs = tudui(imgs) "
        "loss = loss_fn(outputs, targets)",
        "for data in test_dataloader: imgs, targets = data",
        "if torch.cuda.is_available(): imgs = imgs.cuda() targets = targets.cuda()",
        "imgs = imgs.to(device) targets = targets.to(device) outputs = tudui(imgs) "
        "loss = loss_fn(outputs, targets) total_test_loss = total_test_loss + loss.item() "
        "accuracy = (outputs.argmax(1) == targets).sum() "
        "total_accuracy = total_accuracy + accuracy",
    ],
    "32_test": [
        "class Tudui(nn.Module):",  # test.py: after the transforms; here above main()
        "self.model = nn.Sequential(",
        "image = Image.open(image_path)",
        "print(image)",
        "image = image.convert('RGB')",
        "transform = torchvision.transforms.Compose([torchvision.transforms.Resize((32, 32)), "
        "torchvision.transforms.ToTensor()])",
        "image = transform(image)",
        "print(image.shape)",
        "with torch.serialization.safe_globals(ALLOW_LIST):",
        "model = torch.load(checkpoint, map_location=device, weights_only=True)",
        "image = torch.reshape(image, (1, 3, 32, 32))",
        "model.eval()",
        "with torch.no_grad(): output = model(image)",
        "print(output)",
        "print(output.argmax(1))",
    ],
    # 26's second program, the video's model_load.py
    "model_load_trap": ["torch.load(io.BytesIO(data), weights_only=False)",
                        "from model_save import *"],
}


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _code(name: str) -> str:
    """The lesson's code without its docstring and comments, whitespace removed (the learner's
    own file when src/practice.py --check runs this test on an exercise)."""
    path = lesson_path(name)
    with tokenize.open(path) as f:
        tokens = list(tokenize.generate_tokens(f.readline))
    docstring = next(t for t in tokens if t.type == tokenize.STRING)  # the file starts with it
    return _squeezed("".join(t.string for t in tokens
                             if t.type != tokenize.COMMENT and t is not docstring))


def test_every_lesson_from_06_to_32_is_checked():
    lessons = {p.stem for p in lesson_files() if 6 <= int(p.stem[:2]) <= 32}
    assert lessons <= set(VIDEO_LINES), sorted(lessons - set(VIDEO_LINES))


@pytest.mark.parametrize("lesson", sorted(VIDEO_LINES))
def test_the_videos_lines_are_in_the_lesson_in_the_videos_order(lesson):
    code, position = _code(lesson), 0
    for line in VIDEO_LINES[lesson]:
        found = code.find(_squeezed(line), position)
        if found < 0:
            where = "not in the file" if _squeezed(line) not in code else "out of the video's order"
            pytest.fail(f"{lesson}.py: {line!r} is {where}")
        position = found + len(_squeezed(line))


def _loops_over(tree: ast.AST, loader: str) -> list[ast.For]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.For)
            and isinstance(node.iter, ast.Name) and node.iter.id == loader]


@pytest.mark.parametrize("lesson", ["27_train", "30_train_gpu"])
def test_the_training_loops_hold_the_videos_code_only(lesson):
    """No project machinery (the run object, autocast) in the course's loops over the data."""
    tree = ast.parse(lesson_path(lesson).read_text(encoding="utf-8"))
    loops = _loops_over(tree, "train_dataloader") + _loops_over(tree, "test_dataloader")
    assert len(loops) == 2
    for loop in loops:
        names = {node.id for node in ast.walk(loop) if isinstance(node, ast.Name)}
        assert not names & {"run", "autocast", "amp_dtype"}, (lesson, loop.lineno)
        assert not any(isinstance(node, ast.With) for node in ast.walk(loop)), (lesson, loop.lineno)
